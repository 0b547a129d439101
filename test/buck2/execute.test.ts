// Per-request rules of the Buck2 front door, driven through the fake-Buck2 harness exactly as
// Buck2 sends them (docs/protocol/buck2-worker.md §4–§7, §14, §15). One worker serves the whole
// file: Buck2 keeps one process per WorkerId for the whole command.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bridgeExe, type FakeBuck2, type WorkerRef } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const pool = new HarnessPool();
let buck2: FakeBuck2;
let worker: WorkerRef;

beforeAll(() => {
  buck2 = pool.create();
  worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--log-level", "debug"), env: { FROM_WORKER_INFO: "set-by-WorkerInfo.env" } });
});

afterAll(() => pool.cleanup());

function ok(result: Awaited<ReturnType<FakeBuck2["runAction"]>>): string {
  if (result.kind !== "success") throw new Error(`expected success, got ${JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  return result.stderr;
}

describe("Buck2 Execute requests", () => {
  test("worker process: cwd is the project root, WORKER_SOCKET and PWD are set, WorkerInfo.env applies (§4.2, §4.3)", async () => {
    const stderr = ok(await buck2.runAction({ worker, args: ["--cwd", "--env=PWD", "--env=WORKER_SOCKET", "--env=FROM_WORKER_INFO"] }));
    const dir = buck2.worker(worker)!.dir;
    expect(stderr.split("\n")).toEqual([
      `cwd=${buck2.projectRoot}`,
      `PWD=${buck2.projectRoot}`,
      `WORKER_SOCKET=${dir.socketPath}`,
      "FROM_WORKER_INFO=set-by-WorkerInfo.env",
    ]);
  });

  test("the first action is WorkerInit, later ones Worker, on one process (§3, §11)", async () => {
    const a = await buck2.runAction({ worker, args: ["--pid"] });
    const b = await buck2.runAction({ worker, args: ["--pid"] });
    expect(a.executor).toBe("Worker"); // the previous test spawned it
    expect(b.executor).toBe("Worker");
    expect(buck2.worker(worker)!.pid).toBeGreaterThan(0);
  });

  test("argv is the action's arguments with @argfile unexpanded by Buck2; the worker expands it relative to the project root (§6.2, §14)", async () => {
    const rel = "buck-out/v2/gen/root/cfg/__t__/t.args";
    mkdirSync(join(buck2.projectRoot, "buck-out/v2/gen/root/cfg/__t__"), { recursive: true });
    writeFileSync(join(buck2.projectRoot, rel), "--echo=from the argfile\n--write=buck-out/out.txt=written\n");
    const stderr = ok(await buck2.runAction({ worker, args: ["--echo=before", `@${rel}`], outputs: ["buck-out/out.txt"] }));
    expect(stderr).toBe("before\nfrom the argfile");
    expect(readFileSync(join(buck2.projectRoot, "buck-out/out.txt"), "utf8")).toBe("written");
  });

  test("a missing @argfile is a tool failure (exit code), not a gRPC error (§7.1, §14)", async () => {
    const result = await buck2.runAction({ worker, args: ["@does/not/exist.args"] });
    expect(result.kind).toBe("failed");
    if (result.kind === "failed") {
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain("does/not/exist.args");
    }
  });

  test("per-request env: TMPDIR, action env, BUCK_SCRATCH_PATH, BUCK2_DAEMON_UUID and BUCK_BUILD_ID reach the request (§6.2)", async () => {
    const stderr = ok(
      await buck2.runAction({ worker, args: ["--env=TMPDIR", "--env=BUCK_SCRATCH_PATH", "--env=BUCK2_DAEMON_UUID", "--env=BUCK_BUILD_ID", "--env=ACTION_VAR"], env: { ACTION_VAR: "v1" }, name: "envy" }),
    );
    const lines = stderr.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^TMPDIR=${buck2.projectRoot}/buck-out/v2/tmp/.+/envy-\\d+$`));
    expect(lines[1]).toMatch(/^BUCK_SCRATCH_PATH=buck-out\/v2\/tmp\/.+\/envy-\d+$/);
    expect(lines.slice(2)).toEqual([`BUCK2_DAEMON_UUID=${buck2.daemonUuid}`, `BUCK_BUILD_ID=${buck2.buildId}`, "ACTION_VAR=v1"]);
  });

  test("per-request env differs between concurrent requests to the same process and never leaks into later ones (§6.2, scenario 6)", async () => {
    const [a, b] = await Promise.all([
      buck2.runAction({ worker, args: ["--sleep=200", "--env=ONLY_HERE", "--pid"], env: { ONLY_HERE: "a" } }),
      buck2.runAction({ worker, args: ["--sleep=200", "--env=ONLY_HERE", "--pid"], env: { ONLY_HERE: "b" } }),
    ]);
    expect(ok(a).split("\n")[0]).toBe("ONLY_HERE=a");
    expect(ok(b).split("\n")[0]).toBe("ONLY_HERE=b");
    const later = ok(await buck2.runAction({ worker, args: ["--env=ONLY_HERE"] }));
    expect(later).toBe("ONLY_HERE=");
  });

  test("timeout_s is enforced by the worker: timed_out_after_s is present on expiry (§1.3, §6.2, scenario 5)", async () => {
    const result = await buck2.runAction({ worker, args: ["--sleep=30000"], timeoutS: 1 });
    expect(result.kind).toBe("timed-out");
    if (result.kind === "timed-out") {
      expect(result.timedOutAfterS).toBe(1n);
      expect(result.stderr).toContain("timed out");
    }
  });

  test("timed_out_after_s is absent when there is no timeout or it was not reached (§1.3, scenario 5)", async () => {
    const withTimeout = await buck2.runAction({ worker, args: ["--echo=fast"], timeoutS: 60 });
    const without = await buck2.runAction({ worker, args: ["--exit=4"] });
    expect(withTimeout.kind).toBe("success");
    if (withTimeout.kind === "success") expect(withTimeout.response?.timedOutAfterS).toBeUndefined();
    expect(without.kind).toBe("failed");
    if (without.kind === "failed") {
      expect(without.exitCode).toBe(4);
      expect(without.response?.timedOutAfterS).toBeUndefined();
    }
  });

  test("a tool failure is an exit code with the output in stderr, never a gRPC status (§7.1, issue rule 5)", async () => {
    const exit = await buck2.runAction({ worker, args: ["--echo=diagnostic", "--exit=3"] });
    const thrown = await buck2.runAction({ worker, args: ["--throw=boom"] });
    const usage = await buck2.runAction({ worker, args: ["--no-such-flag"] });
    expect(exit).toMatchObject({ kind: "failed", exitCode: 3, stderr: "diagnostic", stdout: "" });
    expect(thrown.kind).toBe("failed");
    if (thrown.kind === "failed") expect(thrown.stderr).toContain("boom");
    expect(usage).toMatchObject({ kind: "failed", exitCode: 2 });
  });

  test("stderr is valid UTF-8 even when argv bytes are not (§1.3, scenario 11)", async () => {
    const argv = new Uint8Array([...Buffer.from("--echo=a"), 0xff, 0xfe, ...Buffer.from("b")]);
    // The harness decodes stderr strictly, as prost does: invalid UTF-8 would be a worker failure.
    const stderr = ok(await buck2.runAction({ worker, args: [argv] }));
    expect(stderr).toBe("a\uFFFD\uFFFDb");
  });

  test("a request and a response over 4 MiB pass both ways (§5.4, scenario 4)", async () => {
    const big = "x".repeat(5 * 1024 * 1024);
    const stderr = ok(await buck2.runAction({ worker, args: [`--echo=${big}`] }));
    expect(stderr.length).toBe(big.length);
    expect(stderr === big).toBe(true);
  });

  test("a re-sent command (UNAVAILABLE retry) is safe: the same command twice gives the same result (§6.3, scenario 8)", async () => {
    const action = { worker, args: ["--write=buck-out/resent.txt=same", "--echo=done"], outputs: ["buck-out/resent.txt"] };
    const [a, b] = await Promise.all([buck2.runAction(action), buck2.runAction(action)]);
    const c = await buck2.runAction(action);
    expect([ok(a), ok(b), ok(c)]).toEqual(["done", "done", "done"]);
    expect(readFileSync(join(buck2.projectRoot, "buck-out/resent.txt"), "utf8")).toBe("same");
  });

  test("the channel's :authority is [::]:50051, as tonic's dummy URI gives (§5.1)", () => {
    // The bridge logs each call's authority at debug level into the worker's stderr log file.
    expect(buck2.worker(worker)!.logs.stderr).toContain("authority=[::]:50051");
  });

  test("the worker never answered with a gRPC status, so never UNAVAILABLE (§6.3, issue rule 5)", () => {
    expect(buck2.worker(worker)!.grpcStatuses.filter((s) => s === status.UNAVAILABLE)).toEqual([]);
    expect(buck2.worker(worker)!.grpcStatuses).toEqual([]);
    expect(buck2.worker(worker)!.unaryAttempts.every((n) => n === 1)).toBe(true);
  });

  test("end of command: SIGTERM ends the worker with exit 0, no SIGKILL, socket removed, nothing left behind (§10, §15 step 8)", async () => {
    const report = await buck2.endCommand();
    expect(report.workers).toHaveLength(1);
    const [w] = report.workers;
    expect(w!.exit).toEqual({ code: 0, signal: null });
    expect(w!.neededSigkill).toBe(false);
    expect(w!.survivors).toEqual([]);
    expect(w!.socketLeftBehind).toBe(false);
  });
});
