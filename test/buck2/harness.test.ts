// The fake-Buck2 harness must be able to fail: each test feeds it a worker that breaks one rule
// real Buck2 depends on (docs/protocol/buck2-worker.md §15), and checks the harness notices.
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, test } from "vitest";
import {
  connectDelays,
  connectTimeoutMessage,
  CONNECT_DEADLINE_MS,
  createWorkerDir,
  FifoSemaphore,
  HarnessFailure,
  HarnessSetupError,
  UNAVAILABLE_RETRY_DELAYS_MS,
} from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const BAD_WORKER = fileURLToPath(new URL("./fixtures/bad-worker.mjs", import.meta.url));
const bad = (mode: string): string[] => [process.execPath, BAD_WORKER, mode];
const pool = new HarnessPool();
afterEach(() => pool.cleanup());

describe("fake-Buck2 harness: building blocks follow docs/protocol/buck2-worker.md §15", () => {
  test("connect retry schedule: 50, 100, 200, 400, then 500 ms; 60 s deadline; Rust-formatted seconds (§5.2, §5.3)", () => {
    const delays = connectDelays();
    expect(Array.from({ length: 7 }, () => delays.next().value)).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(CONNECT_DEADLINE_MS).toBe(60_000);
    expect(connectTimeoutMessage(60_000, "e")).toBe("Error initializing worker: Worker failed to connect within `60.00` seconds: e");
  });

  test("UNAVAILABLE retry policy: 6 attempts with 100, 500, 500, 500, 500 ms between them (§6.3)", () => {
    expect(UNAVAILABLE_RETRY_DELAYS_MS).toEqual([100, 500, 500, 500, 500]);
  });

  test("request env order: TMPDIR, the action env sorted by key with BUCK_SCRATCH_PATH, BUCK2_DAEMON_UUID, BUCK_BUILD_ID (§6.2)", () => {
    const buck2 = pool.create();
    const env = buck2.requestEnv({ env: { ZED: "z", ALPHA: "a", BUCK_Z: "b" } }, "buck-out/v2/tmp/x");
    expect(env.map(([k]) => k)).toEqual(["TMPDIR", "ALPHA", "BUCK_SCRATCH_PATH", "BUCK_Z", "ZED", "BUCK2_DAEMON_UUID", "BUCK_BUILD_ID"]);
    expect(env[0]![1]).toBe(`${buck2.projectRoot}/buck-out/v2/tmp/x`);
  });

  test("the worker directory must not exist yet (WorkerDirectoryExists) and the socket path stays under 108 bytes (§4.4)", () => {
    const root = mkdtempSync("/tmp/wb-dir-");
    try {
      const dir = createWorkerDir(root, "trace", 0);
      expect(dir.socketPath).toBe(`${root}/buck2_worker/trace-0/socket`);
      expect(() => createWorkerDir(root, "trace", 0)).toThrow(HarnessSetupError);
      expect(() => createWorkerDir(root, "t".repeat(100), 1)).toThrow(/Buck2 keeps it under 108/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("FIFO semaphore grants permits in request order (§8)", async () => {
    const sem = new FifoSemaphore(1);
    const order: number[] = [];
    const first = await sem.acquire();
    const waiters = [1, 2, 3].map((n) => sem.acquire().then((release) => (order.push(n), release)));
    first();
    for (const w of waiters) (await w)();
    expect(order).toEqual([1, 2, 3]);
  });
});

describe("fake-Buck2 harness: it fails when a worker misbehaves", () => {
  test("a worker that never binds its socket fails with the connect timeout (§5.3)", async () => {
    const buck2 = pool.create({ connectDeadlineMs: 1000 });
    const worker = buck2.defineWorker({ exe: bad("never-bind") });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("init-failure");
    if (result.kind === "init-failure") expect(result.message).toMatch(/Worker failed to connect within `1\.00` seconds/);
    await buck2.endCommand();
  });

  test("an answer with an unknown stream id is recorded and fails the command (§6.4)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("unknown-id"), streaming: true });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result).toMatchObject({ kind: "success", stderr: "right id" });
    const ended = buck2.endCommand();
    await expect(ended).rejects.toThrow(HarnessFailure);
    await expect(ended).rejects.toThrow(/unknown stream id 1000/);
  });

  test("a stream answer without `response` is a harness violation, because real Buck2 panics (§6.4)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("missing-response"), streaming: true });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("harness-violation");
    await expect(buck2.endCommand()).rejects.toThrow(/has no response: real Buck2 panics/);
  });

  test("a streaming worker that never sends response headers is reported, because Buck2 would wait forever (§5.4)", async () => {
    const buck2 = pool.create({ streamHeadersTimeoutMs: 1500 });
    const worker = buck2.defineWorker({ exe: bad("no-headers"), streaming: true });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("harness-violation");
    await expect(buck2.endCommand()).rejects.toThrow(/sent no response headers/);
  });

  test("invalid UTF-8 in stderr becomes a worker failure, as prost rejects it (§1.3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("invalid-utf8") });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("worker-failure");
    if (result.kind === "worker-failure") {
      expect(result.message).toMatch(/^Error sending ExecuteCommand to worker: status: INTERNAL, message: ".*not UTF-8 encoded.*", see worker logs:\n/);
    }
    await buck2.endCommand();
  });

  test("UNAVAILABLE is retried: two refusals then success is one action on the third attempt (§6.3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("unavailable=2") });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result).toMatchObject({ kind: "success", stderr: "bad-worker ok" });
    expect(buck2.worker(worker)!.unaryAttempts).toEqual([3]);
    expect(buck2.worker(worker)!.grpcStatuses).toEqual([status.UNAVAILABLE, status.UNAVAILABLE]);
    await buck2.endCommand();
  });

  test("UNAVAILABLE on all 6 attempts fails the action (§6.3, §7.2)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("unavailable=100") });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("worker-failure");
    if (result.kind === "worker-failure") expect(result.message).toMatch(/^Error sending ExecuteCommand to worker: status: UNAVAILABLE/);
    expect(buck2.worker(worker)!.unaryAttempts).toEqual([6]);
    await buck2.endCommand();
  });

  test("a worker that ignores SIGTERM is SIGKILLed and fails the command (§10)", async () => {
    const buck2 = pool.create({ shutdownTimeoutMs: 1000 });
    const worker = buck2.defineWorker({ exe: bad("ignore-sigterm") });
    await buck2.runAction({ worker, args: [] });
    await expect(buck2.endCommand()).rejects.toThrow(/ignored SIGTERM for 1000 ms and was SIGKILLed/);
  });

  test("a worker that leaves a child process behind fails the command (§10, §15 step 8)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bad("leave-child") });
    await buck2.runAction({ worker, args: [] });
    await expect(buck2.endCommand()).rejects.toThrow(/left processes behind/);
  });
});
