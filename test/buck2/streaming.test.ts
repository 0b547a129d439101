// WorkerInfo(streaming = True): one ExecuteStream per worker (docs/protocol/buck2-worker.md §5.4,
// §6.4, issue rule 2).
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, test } from "vitest";
import { ExecuteCommandStreamSchema, type ExecuteResponseStream } from "../../src/gen/buck2/worker_pb.js";
import { bridgeExe, delay, executeCommand, openChannel, openExecuteStream, type ActionResult } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const pool = new HarnessPool();
afterEach(() => pool.cleanup());

function stderrOf(r: ActionResult): string {
  if (r.kind !== "success") throw new Error(`expected success: ${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  return r.stderr;
}

describe("Buck2 ExecuteStream", () => {
  test("streaming: response headers arrive before anything is sent; ids start at 0 (§5.4, §6.4, scenario 3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe"), streaming: true });
    const a = await buck2.runAction({ worker, args: ["--echo=first"] });
    const b = await buck2.runAction({ worker, args: ["--echo=second"] });
    const w = buck2.worker(worker)!;
    expect([stderrOf(a), stderrOf(b)]).toEqual(["first", "second"]);
    expect(w.headersAtMs).toBeDefined();
    expect(w.headersAtMs!).toBeLessThanOrEqual(w.firstSendAtMs!);
    expect(w.sentStreamIds).toEqual([0n, 1n]);
    expect(w.answeredStreamIds).toEqual([0n, 1n]);
    await buck2.endCommand();
  });

  test("streaming: commands run concurrently and complete out of order, each answer echoing its id (§6.4, scenario 3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe"), streaming: true });
    await buck2.runAction({ worker, args: ["--echo=warm-up"] });
    const w = buck2.worker(worker)!;
    const slow = buck2.runAction({ worker, args: ["--sleep=1500", "--echo=slow"] });
    while (w.sentStreamIds.length < 2) await delay(5);
    const fast = buck2.runAction({ worker, args: ["--echo=fast"] });
    expect(stderrOf(await fast)).toBe("fast");
    expect(stderrOf(await slow)).toBe("slow");
    expect(w.sentStreamIds).toEqual([0n, 1n, 2n]);
    expect(w.answeredStreamIds).toEqual([0n, 2n, 1n]);
    await buck2.endCommand();
  });

  test("streaming: after the client half-closes, in-flight jobs finish and are answered, then the stream ends OK (issue rule 2)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe"), streaming: true });
    await buck2.runAction({ worker, args: ["--echo=start"] });
    // A second stream on the same socket, driven by hand (Buck2 never half-closes; it kills).
    const client = openChannel(buck2.worker(worker)!.dir.socketPath);
    const stream = openExecuteStream(client);
    const answers: ExecuteResponseStream[] = [];
    stream.on("data", (m: ExecuteResponseStream) => answers.push(m));
    const ended = new Promise<{ code: number }>((resolve) => stream.on("status", resolve));
    stream.write(create(ExecuteCommandStreamSchema, { id: 10n, request: executeCommand({ argv: ["--sleep=400", "--echo=ten"] }) }));
    stream.write(create(ExecuteCommandStreamSchema, { id: 11n, request: executeCommand({ argv: ["--echo=eleven"] }) }));
    stream.write(create(ExecuteCommandStreamSchema, { id: 12n }));
    stream.end();
    expect((await ended).code).toBe(0);
    client.close();
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect([...byId.keys()].sort()).toEqual([10n, 11n, 12n]);
    expect(byId.get(10n)!.response?.stderr).toBe("ten");
    expect(byId.get(11n)!.response?.stderr).toBe("eleven");
    // Always set `response`, even for a message without a request (Buck2 unwraps it).
    expect(byId.get(12n)!.response?.exitCode).toBe(2);
    expect(byId.get(12n)!.response?.stderr).toContain("carries no request");
    await buck2.endCommand();
  });

  test("streaming: timeout_s on a stream command sets timed_out_after_s; others leave it absent (§1.3, §6.4)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe"), streaming: true });
    const [timedOut, fine] = await Promise.all([
      buck2.runAction({ worker, args: ["--sleep=30000"], timeoutS: 1 }),
      buck2.runAction({ worker, args: ["--echo=fine"], timeoutS: 30 }),
    ]);
    expect(timedOut).toMatchObject({ kind: "timed-out", timedOutAfterS: 1n });
    expect(fine.kind).toBe("success");
    if (fine.kind === "success") expect(fine.response?.timedOutAfterS).toBeUndefined();
    await buck2.endCommand();
  });
});
