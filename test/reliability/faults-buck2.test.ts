// Fault injection across the Buck2 front door ($WORKER_SOCKET gRPC, docs/protocol/buck2-worker.md §4.4–§10), driven
// by the fake-Buck2 harness. Each fault must end in a clear response (or a clear exit), never a
// hang, and must leave the worker serving the next action.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ExecuteResponse } from "../../src/gen/buck2/worker_pb.js";
import { CLI, delay, waitForDeath } from "./helpers/bazel-client.js";
import { executeCommand, killAllBuck2Workers, startBuck2Worker, type Buck2Worker, type CallOutcome } from "./helpers/buck2-worker.js";
import { processHostUnavailable } from "./helpers/process-host.js";
import { startMarker } from "../support/job-started.js";

const FAULT_TOOL = fileURLToPath(new URL("./fixtures/fault-tool.mjs", import.meta.url));

let noProcessHost: string | undefined;
let scratch: string;

beforeAll(async () => {
  noProcessHost = await processHostUnavailable();
  if (noProcessHost) console.warn(`[faults-buck2] process-host cases skipped: ${noProcessHost}`);
  scratch = await mkdtemp("/tmp/wbr-scratch-");
});
afterAll(async () => {
  await killAllBuck2Workers(true);
  await rm(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  await killAllBuck2Workers();
});

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function run(w: Buck2Worker, argv: string[], extra: { timeoutS?: number; env?: [string, string][] } = {}): Promise<CallOutcome> {
  expect(w.failure, JSON.stringify(w.failure)?.slice(0, 2000)).toBeUndefined();
  return within(w.worker.execute(executeCommand({ argv, ...extra })), 40_000, `Execute ${argv.join(" ").slice(0, 80)}`);
}

async function respond(w: Buck2Worker, argv: string[], extra: { timeoutS?: number; env?: [string, string][] } = {}): Promise<ExecuteResponse> {
  const o = await run(w, argv, extra);
  if (o.kind !== "response") throw new Error(`expected a response, got ${o.kind}: ${o.message}`);
  return o.response;
}

async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (text !== "") return text;
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await delay(25);
  }
}

/** Runs the CLI with the given WORKER_SOCKET and waits for its exit (killed by PID after 20 s). */
function runCliOnSocket(socketPath: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "--tool", "probe"], {
      env: { ...process.env, WORKER_SOCKET: socketPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const watchdog = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), 20_000);
    child.on("close", (code) => {
      clearTimeout(watchdog);
      resolve({ code, stderr });
    });
  });
}

describe.each([
  { name: "unary Execute", streaming: false },
  { name: "ExecuteStream", streaming: true },
])("Buck2 front door, $name", ({ streaming }) => {
  // One worker for the faults after which it must keep serving: it has to survive all of them.
  let shared: Buck2Worker;
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(scratch, "proj-"));
    await writeFile(join(project, "empty.args"), "");
    await writeFile(join(project, "binary.args"), Buffer.from([0x2d, 0x00, 0xff]));
    await writeFile(join(project, "self.args"), "@self.args\n");
    for (let i = 0; i < 100; i++) await writeFile(join(project, `d${i}.args`), `@d${i + 1}.args\n`);
    await writeFile(join(project, "d100.args"), "--ok\n");
    shared = await startBuck2Worker({ tool: FAULT_TOOL, args: ["--abort-grace-ms=200"], streaming, projectRoot: project, shared: true });
  });
  let processWorker: Promise<Buck2Worker> | undefined;
  const processHosted = (): Promise<Buck2Worker> =>
    (processWorker ??= startBuck2Worker({ tool: FAULT_TOOL, args: ["--host=process", "--abort-grace-ms=200"], streaming, shared: true }));
  let threadWorker: Promise<Buck2Worker> | undefined;
  // One thread: a later call can only be served once the stuck thread was terminated and replaced.
  const threadHosted = (): Promise<Buck2Worker> =>
    (threadWorker ??= startBuck2Worker({ tool: FAULT_TOOL, args: ["--host=thread", "--tool-processes=1", "--abort-grace-ms=200"], streaming, shared: true }));

  it("SIGKILL of the tool process mid-request: a clear failure response, and the worker keeps serving (docs/protocol/buck2-worker.md §7.2, §15 scenario 9)", async (ctx) => {
    if (noProcessHost) {
      console.warn(`[skip] ${ctx.task.name}: ${noProcessHost}`);
      ctx.skip();
    }
    const w = await processHosted();
    const pidFile = join(w.root, `tool-${Date.now()}.pid`);
    const call = run(w, [`--pid-file=${pidFile}`, "--ignore-abort"]);
    const toolPid = Number(await waitForFile(pidFile));
    expect(toolPid).not.toBe(w.worker.pid);
    process.kill(toolPid, "SIGKILL");
    const o = await call;
    expect(o.kind).toBe("response");
    const r = (o as { response: ExecuteResponse }).response;
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/SIGKILL|killed|crash|exited/i);
    expect(r.timedOutAfterS).toBeUndefined();
    expect(await respond(w, ["--ok"])).toMatchObject({ exitCode: 0, stderr: "ok" });
    expect(w.violations).toEqual([]);
  });

  it("a tool that never returns and ignores abort, timeout_s=1: timed_out_after_s is set, the worker keeps serving (docs/protocol/buck2-worker.md §6.2, §7.1, §15 scenario 5)", async () => {
    const w = shared;
    const r = await respond(w, ["--ignore-abort"], { timeoutS: 1 });
    expect(r.timedOutAfterS).toBe(1n);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/timed out after 1s/);
    const ok = await respond(w, ["--ok"]);
    expect(ok).toMatchObject({ exitCode: 0, stderr: "ok" });
    expect(ok.timedOutAfterS).toBeUndefined();
  });

  it("an endless CPU loop with timeout_s=1 (process host): timed_out_after_s set, the tool process killed, the worker keeps serving (docs/protocol/buck2-worker.md §6.2)", async (ctx) => {
    if (noProcessHost) {
      console.warn(`[skip] ${ctx.task.name}: ${noProcessHost}`);
      ctx.skip();
    }
    const w = await processHosted();
    const pidFile = join(w.root, `spin-${Date.now()}.pid`);
    const r = await respond(w, [`--pid-file=${pidFile}`, "--spin"], { timeoutS: 1 });
    expect(r.timedOutAfterS).toBe(1n);
    await waitForDeath(Number(readFileSyncSafe(pidFile)));
    expect(await respond(w, ["--ok"])).toMatchObject({ exitCode: 0, stderr: "ok" });
  });

  it("an endless CPU loop with timeout_s=1 (thread host): timed_out_after_s set, the thread terminated, the worker keeps serving (docs/supervisor.md, the thread host)", async () => {
    const w = await threadHosted();
    const pidFile = join(w.root, `spin-thread-${Date.now()}.pid`);
    const r = await respond(w, [`--pid-file=${pidFile}`, "--spin"], { timeoutS: 1 });
    expect(r.timedOutAfterS).toBe(1n);
    expect(Number(readFileSyncSafe(pidFile))).toBe(w.worker.pid);
    expect(await respond(w, ["--ok"])).toMatchObject({ exitCode: 0, stderr: "ok" });
  });

  it("a tool printing 4 MiB to stdout and 4 MiB to stderr: all captured in the response's stderr (docs/protocol/buck2-worker.md §7.1)", async () => {
    const w = shared;
    const r = await respond(w, ["--flood=4"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr.length).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(r.stderr).toContain("flooded 4 MiB");
    // The worker's own stdout log (docs/protocol/buck2-worker.md §4.2) got none of the tool's output.
    expect((await readFile(w.worker.dir.stdoutPath, "utf8")).includes("xxxxxxxx")).toBe(false);
    expect(await respond(w, ["--ok"])).toMatchObject({ exitCode: 0, stderr: "ok" });
  });

  it("SIGTERM during load: every accepted call answered, prompt exit without SIGKILL, no survivors (docs/protocol/buck2-worker.md §10, §15 scenario 10)", async () => {
    const w = await startBuck2Worker({ streaming });
    const running = startMarker();
    const calls = Array.from({ length: 40 }, (_, i) => run(w, [...(i === 0 ? [running.arg] : []), `--sleep=${100 + ((i * 53) % 600)}`, `--echo=c${i}`]));
    // Calls are accepted and running when the signal comes.
    await running.reached();
    const report = await within(w.worker.terminate(10_000), 15_000, "terminate");
    const outcomes = await Promise.all(calls);
    expect(report.neededSigkill).toBe(false);
    expect(report.survivors).toEqual([]);
    expect(report.exit?.code).toBe(0);
    expect(report.shutdownMs).toBeLessThan(8_000);
    // Jobs in flight get --shutdown-grace-ms (2 s) to finish; those still running or queued after
    // it are aborted and answered with a clear note. Either way: one response per call, none lost.
    let completed = 0;
    for (const [i, o] of outcomes.entries()) {
      expect(o.kind, JSON.stringify(o)).toBe("response");
      const r = (o as { response: ExecuteResponse }).response;
      if (r.exitCode === 0) {
        expect(r.stderr).toContain(`c${i}`);
        completed++;
      } else {
        // Running jobs are aborted and queued ones never start; both answers say why.
        expect(r.stderr).toMatch(/shutting down/);
      }
    }
    expect(completed).toBeGreaterThan(0);
  });

  it("argfiles missing, empty, binary, self-referencing, nested 100 deep: a clear error naming the path (empty = zero arguments), and the worker keeps serving (docs/protocol/buck2-worker.md §6.2, §15 scenario 7)", async () => {
    const w = shared;
    const [missing, empty, binary, self, deep] = await Promise.all(
      ["@missing.args", "@empty.args", "@binary.args", "@self.args", "@d0.args"].map((a) => respond(w, [a])),
    );
    expect(missing).toMatchObject({ exitCode: 2 });
    expect(missing!.stderr).toContain(join(project, "missing.args"));
    expect(empty).toMatchObject({ exitCode: 0, stderr: "" });
    expect(binary!.stderr).toContain(join(project, "binary.args"));
    expect(binary!.stderr).toMatch(/binary/);
    expect(self!.stderr).toMatch(/cycle/);
    expect(self!.stderr).toContain(join(project, "self.args"));
    expect(deep!.stderr).toContain(join(project, "d32.args"));
    expect(await respond(w, ["--ok"])).toMatchObject({ exitCode: 0, stderr: "ok" });
  });
});

function readFileSyncSafe(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

describe("Buck2 front door: transport faults", () => {
  it("a 2 MiB request with --max-message-mb=1: RESOURCE_EXHAUSTED naming the limit, and the worker keeps serving (gRPC frames messages, so nothing is lost) (docs/protocol/buck2-worker.md §5.4)", async () => {
    const w = await startBuck2Worker({ args: ["--max-message-mb=1"] });
    const o = await run(w, [`--echo=${"y".repeat(2 * 1024 * 1024)}`]);
    expect(o.kind).toBe("worker-failure");
    expect((o as { message: string }).message).toMatch(/RESOURCE_EXHAUSTED/);
    expect((o as { message: string }).message).toContain(String(1024 * 1024));
    expect(await respond(w, ["--echo=small"])).toMatchObject({ exitCode: 0, stderr: "small" });
  });

  it("a client dying in the middle of an HTTP/2 frame (Buck2's stdin is /dev/null; this is its mid-frame EOF): the worker keeps serving (docs/protocol/buck2-worker.md §5.1)", async () => {
    const w = await startBuck2Worker({});
    await new Promise<void>((resolve, reject) => {
      const s = connect(w.worker.dir.socketPath);
      s.once("error", reject);
      s.once("connect", () => {
        // The HTTP/2 preface, then half a SETTINGS frame header, then gone.
        s.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04");
        s.destroy();
        resolve();
      });
    });
    await delay(100);
    expect(await respond(w, ["--echo=alive"])).toMatchObject({ exitCode: 0, stderr: "alive" });
    expect(w.worker.exited).toBeUndefined();
  });
});

describe("Buck2 front door: WORKER_SOCKET faults (docs/protocol/buck2-worker.md §4.4)", () => {
  it("a socket path over the 108-byte sun_path limit: exit 2 with a message naming the limit and the path", async () => {
    const long = join(scratch, "d".repeat(120), "socket");
    const { code, stderr } = await runCliOnSocket(long);
    expect(code).toBe(2);
    expect(stderr).toMatch(/107-byte Unix socket path limit/);
    expect(stderr).toContain(long);
  });

  it("a socket already served by a live worker: the second exits 2 and the first keeps serving", async () => {
    const first = await startBuck2Worker({});
    const { code, stderr } = await runCliOnSocket(first.worker.dir.socketPath);
    expect(code).toBe(2);
    expect(stderr).toMatch(/already serving/);
    expect(await respond(first, ["--echo=first-still-serving"])).toMatchObject({ exitCode: 0, stderr: "first-still-serving" });
  });

  it("a socket path that is a symlink to a file: refused (exit 2), its target left untouched", async () => {
    const dir = await mkdtemp(join(scratch, "link-"));
    const target = join(dir, "precious.txt");
    await writeFile(target, "keep me");
    const socketPath = join(dir, "socket");
    await symlink(target, socketPath);
    const { code, stderr } = await runCliOnSocket(socketPath);
    expect(code).toBe(2);
    expect(stderr).toMatch(/not a socket; refusing/);
    expect(await readFile(target, "utf8")).toBe("keep me");
  });

  it("a socket path that is a symlink to a live worker's socket: refused (exit 2), the live worker keeps serving", async () => {
    const first = await startBuck2Worker({});
    const dir = await mkdtemp(join(scratch, "link2-"));
    const socketPath = join(dir, "socket");
    await symlink(first.worker.dir.socketPath, socketPath);
    const { code } = await runCliOnSocket(socketPath);
    expect(code).toBe(2);
    expect(await respond(first, ["--echo=ok"])).toMatchObject({ exitCode: 0 });
  });

  it("a stale socket file left by a SIGKILLed worker: replaced, and the new worker serves", async () => {
    const first = await startBuck2Worker({});
    const socketPath = first.worker.dir.socketPath;
    first.worker.kill();
    while (first.worker.exited === undefined) await delay(20);
    expect(existsSync(socketPath)).toBe(true);
    const child = spawn(process.execPath, [CLI, "--tool", "probe"], { env: { ...process.env, WORKER_SOCKET: socketPath }, stdio: "ignore" });
    const watchdog = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const deadline = Date.now() + 15_000;
      let connected = false;
      while (!connected && Date.now() < deadline) {
        connected = await new Promise<boolean>((resolve) => {
          const s = connect(socketPath);
          s.once("connect", () => {
            s.destroy();
            resolve(true);
          });
          s.once("error", () => resolve(false));
        });
        if (!connected) await delay(100);
      }
      expect(connected).toBe(true);
    } finally {
      clearTimeout(watchdog);
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    }
  });
});
