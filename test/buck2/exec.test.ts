// Calls Buck2 itself never makes but the bridge must still handle well: Worker/Exec, client
// cancellation (RST_STREAM) and undecodable requests (docs/protocol/buck2-worker.md §1.2, §9, §14;
// issue rules 2 and 5). The worker is started by the harness; these calls are made by hand.
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Metadata, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ExecuteCommandStreamSchema, ExecuteEventSchema, type ExecuteEvent, type ExecuteResponse } from "../../src/gen/buck2/worker_pb.js";
import {
  bridgeExe,
  delay,
  deserializeResponse,
  EXEC_PATH,
  EXECUTE_PATH,
  executeCommand,
  openChannel,
  openExecuteStream,
  serializeCommand,
  serializeEvent,
  type FakeBuck2,
  type WorkerRef,
} from "./harness/index.js";
import { HarnessPool } from "./helpers.js";
import { startMarker } from "../support/job-started.js";

const pool = new HarnessPool();
let buck2: FakeBuck2;
let worker: WorkerRef;
let client: Client;

beforeAll(async () => {
  buck2 = pool.create();
  worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--host", "inline", "--log-level", "info") });
  const warm = await buck2.runAction({ worker, args: ["--echo=up"] });
  if (warm.kind !== "success") throw new Error(`worker did not start: ${JSON.stringify(warm)}`);
  client = openChannel(buck2.worker(worker)!.dir.socketPath);
});

afterAll(() => {
  client?.close();
  pool.cleanup();
});

function openExec(): {
  send(event: ExecuteEvent): void;
  end(): void;
  result: Promise<{ err: ServiceError | null; response: ExecuteResponse | undefined }>;
} {
  let resolve!: (v: { err: ServiceError | null; response: ExecuteResponse | undefined }) => void;
  const result = new Promise<{ err: ServiceError | null; response: ExecuteResponse | undefined }>((r) => (resolve = r));
  const call = client.makeClientStreamRequest(EXEC_PATH, serializeEvent, deserializeResponse, new Metadata(), {}, (err, response) =>
    resolve({ err, response }),
  );
  return { send: (e) => call.write(e), end: () => call.end(), result };
}

const command = (argv: string[]): ExecuteEvent => create(ExecuteEventSchema, { data: { case: "command", value: executeCommand({ argv }) } });
const cancel = (): ExecuteEvent => create(ExecuteEventSchema, { data: { case: "cancel", value: {} } });

/** How many requests the worker has logged as ended by cancellation (info level). */
function cancelledCount(): number {
  return (readFileSync(buck2.worker(worker)!.dir.stderrPath, "utf8").match(/ end=cancelled /g) ?? []).length;
}

/** Waits until `count` more requests than `before` were logged as cancelled; returns how many. */
async function waitForCancelled(before: number, count: number, timeoutMs = 20_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (cancelledCount() < before + count && Date.now() < until) await delay(50);
  await delay(100); // and no more than that
  return cancelledCount() - before;
}

describe("Buck2 Worker/Exec and cancellation", () => {
  test("Exec: the response is sent as soon as the job ends, without waiting for the client to half-close (issue rule 2)", async () => {
    const exec = openExec();
    exec.send(command(["--echo=exec works"]));
    // Deliberately no end(): the answer must arrive anyway.
    const { err, response } = await exec.result;
    expect(err).toBeNull();
    expect(response?.exitCode).toBe(0);
    expect(response?.stderr).toBe("exec works");
    expect(response?.timedOutAfterS).toBeUndefined();
  });

  test("Exec: a cancel event aborts the running job; the single response has a non-zero exit and says it was cancelled (issue rule 2, §9)", async () => {
    const exec = openExec();
    const running = startMarker();
    exec.send(command(["--echo=started", running.arg, "--hang"]));
    await running.reached();
    exec.send(cancel());
    const { err, response } = await exec.result;
    expect(err).toBeNull();
    expect(response!.exitCode).not.toBe(0);
    expect(response!.stderr).toMatch(/cancelled by an ExecuteCancel event/);
    exec.end();
  });

  test("Exec: a cancel before any command is a client error (INVALID_ARGUMENT), not UNAVAILABLE (§9, issue rule 5)", async () => {
    const exec = openExec();
    exec.send(cancel());
    const { err } = await exec.result;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/first event must be a command/);
  });

  test("Exec: half-closing without a command is answered INVALID_ARGUMENT, so the call never hangs (issue rule 2)", async () => {
    const exec = openExec();
    exec.end();
    const { err } = await exec.result;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
  });

  test("Execute: a call cancelled by the client (RST_STREAM) aborts its job (§9)", async () => {
    const before = cancelledCount();
    const running = startMarker();
    const call = client.makeUnaryRequest(
      EXECUTE_PATH,
      serializeCommand,
      deserializeResponse,
      executeCommand({ argv: ["--echo=rst-marker", running.arg, "--hang"] }),
      new Metadata(),
      {},
      () => undefined,
    );
    await running.reached();
    call.cancel();
    // The dispatcher logs every finished request at info level, with how it ended.
    expect(await waitForCancelled(before, 1)).toBe(1);
  });

  test("ExecuteStream: cancelling the stream (RST_STREAM) aborts its running jobs (§9)", async () => {
    const before = cancelledCount();
    const stream = openExecuteStream(client);
    stream.on("error", () => undefined); // the cancel surfaces as a CANCELLED status here
    const running = [startMarker(), startMarker()];
    stream.write(create(ExecuteCommandStreamSchema, { id: 0n, request: executeCommand({ argv: [running[0]!.arg, "--hang"] }) }));
    stream.write(create(ExecuteCommandStreamSchema, { id: 1n, request: executeCommand({ argv: [running[1]!.arg, "--hang"] }) }));
    await Promise.all(running.map((m) => m.reached()));
    stream.cancel();
    expect(await waitForCancelled(before, 2)).toBe(2);
  });

  test("an undecodable request gets INTERNAL with an actionable message, never UNAVAILABLE (issue rule 5)", async () => {
    const err = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest(EXECUTE_PATH, (b: Buffer) => b, deserializeResponse, Buffer.from([0x0a, 0xff, 0xff, 0xff]), new Metadata(), {}, (e) =>
        resolve(e),
      ),
    );
    expect(err?.code).toBe(status.INTERNAL);
    expect(err?.details).toMatch(/worker-bridge: could not decode a 4-byte worker\.ExecuteCommand/);
    expect(err?.details).toMatch(/worker\.proto/);
  });

  test("the worker keeps serving after all of the above (other requests unaffected)", async () => {
    const result = await buck2.runAction({ worker, args: ["--echo=still here"] });
    expect(result).toMatchObject({ kind: "success", stderr: "still here" });
    await buck2.endCommand();
  });
});

