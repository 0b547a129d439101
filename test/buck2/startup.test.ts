// Starting and connecting to a worker (docs/protocol/buck2-worker.md §4, §5; issue rules 1 and 6;
// §15 scenario 1).
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import {
  BRIDGE_CLI,
  bridgeExe,
  callExecute,
  connectToWorker,
  delay,
  executeCommand,
  isAlive,
  killQuietly,
  spawnWorker,
  type WorkerDir,
} from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const pool = new HarnessPool();
const cleanups: (() => void)[] = [];
afterEach(() => {
  pool.cleanup();
  for (const c of cleanups.splice(0)) c();
});

/** A worker directory at an arbitrary path (the harness's own refuses what Buck2 never creates). */
function handMadeDir(dir: string): WorkerDir {
  mkdirSync(dir, { recursive: true });
  const stdoutPath = join(dir, "stdout");
  const stderrPath = join(dir, "stderr");
  writeFileSync(stdoutPath, "");
  writeFileSync(stderrPath, "");
  return { dir, socketPath: join(dir, "socket"), stdoutPath, stderrPath };
}

function tmp(prefix: string): string {
  const d = mkdtempSync(`/tmp/${prefix}`);
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe("Buck2 worker start-up", () => {
  test("slow start: the harness retries after 50, 100, 200, 400, 500 ms and connects once the socket appears (§5.2, scenario 1)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: ["sh", "-c", `sleep 2; exec "${process.execPath}" "${BRIDGE_CLI}" --tool probe`] });
    const result = await buck2.runAction({ worker, args: ["--echo=late but fine"] });
    expect(result).toMatchObject({ kind: "success", executor: "WorkerInit", stderr: "late but fine" });
    const attempts = buck2.worker(worker)!.connectAttempts;
    expect(attempts.length).toBeGreaterThanOrEqual(6);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Each gap is the scheduled sleep plus the failed attempt's own (small) cost.
    [50, 100, 200, 400, 500].forEach((d, i) => expect(gaps[i]!).toBeGreaterThanOrEqual(d));
    await buck2.endCommand();
  });

  test("no start at all: the connection times out with Buck2's message, and the failure is remembered (§5.3, §3)", async () => {
    const buck2 = pool.create({ connectDeadlineMs: 1500 });
    const worker = buck2.defineWorker({ exe: ["sleep", "600"] });
    const first = await buck2.runAction({ worker, args: ["--echo=x"] });
    const second = await buck2.runAction({ worker, args: ["--echo=y"] });
    expect(first.kind).toBe("init-failure");
    if (first.kind === "init-failure") {
      expect(first.message).toMatch(/^Error initializing worker: Worker failed to connect within `1\.50` seconds: transport error: /);
    }
    expect(second).toEqual({ ...first, executor: "Worker" });
    const report = await buck2.endCommand();
    expect(report.workers).toHaveLength(1); // no respawn
  });

  test("early exit with a message on stderr: the action fails with its exit code and the log files' contents (§5.3, scenario 1)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "no-such-tool") });
    const first = await buck2.runAction({ worker, args: ["--echo=x"] });
    expect(first.kind).toBe("failed");
    if (first.kind === "failed") {
      expect(first.exitCode).toBe(2);
      expect(first.stderr).toMatch(/worker-bridge: --tool no-such-tool: not a built-in tool/);
      expect(first.stdout).toBe("");
    }
    const second = await buck2.runAction({ worker, args: ["--echo=y"] });
    expect(second).toMatchObject({ kind: "failed", exitCode: 2 });
    const report = await buck2.endCommand();
    expect(report.workers[0]!.exitedBeforeEnd).toBe(true);
  });

  test("a spawn failure fails the action with `Worker failed to spawn` (§5.3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: ["/nonexistent/worker-bridge"] });
    const result = await buck2.runAction({ worker, args: [] });
    expect(result.kind).toBe("init-failure");
    if (result.kind === "init-failure") expect(result.message).toMatch(/^Error initializing worker: Worker failed to spawn: .*ENOENT/);
    await buck2.endCommand();
  });

  test("a WORKER_SOCKET path over the Unix socket limit exits with a clear error (issue rule 6)", async () => {
    const dir = handMadeDir(join(tmp("wb-long-"), "d".repeat(120)));
    const worker = spawnWorker({ exe: bridgeExe("--tool", "probe"), projectRoot: pool.projectRoot(), dir });
    const exit = await Promise.race([worker.exited, delay(30_000).then(() => undefined)]);
    if (!exit) killQuietly(worker.child.pid!);
    expect(exit).toEqual({ code: 2, signal: null });
    expect(readFileSync(dir.stderrPath, "utf8")).toMatch(/WORKER_SOCKET is \d+ bytes long, over the 107-byte Unix socket path limit/);
  });

  test("a stale socket file is replaced, and the new socket is owner-only (0600) (issue rule 6)", async () => {
    const dir = handMadeDir(join(tmp("wb-stale-"), "w"));
    // Leave a stale socket behind: a listener killed with SIGKILL cannot remove its file.
    const holder = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(dir.socketPath)}, () => console.log("up"))`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((r) => holder.stdout!.once("data", r));
    holder.kill("SIGKILL");
    await new Promise((r) => holder.once("exit", r));
    expect(lstatSync(dir.socketPath).isSocket()).toBe(true);

    const worker = spawnWorker({ exe: bridgeExe("--tool", "probe"), projectRoot: pool.projectRoot(), dir });
    cleanups.push(() => killQuietly(worker.child.pid!, "SIGKILL"));
    const connected = await connectToWorker({ socketPath: dir.socketPath, exited: worker.exited, deadlineMs: 30_000 });
    expect(connected.kind).toBe("connected");
    if (connected.kind !== "connected") return;
    expect(lstatSync(dir.socketPath).mode & 0o777).toBe(0o600);
    const response = await callExecute(connected.client, executeCommand({ argv: ["--echo=over the stale one"] }));
    expect(response.stderr).toBe("over the stale one");
    connected.client.close();
    process.kill(worker.child.pid!, "SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(() => lstatSync(dir.socketPath)).toThrow(); // removed on SIGTERM
  });

  test("a file at WORKER_SOCKET that is not a socket is left alone and reported (issue rule 6)", async () => {
    const dir = handMadeDir(join(tmp("wb-file-"), "w"));
    writeFileSync(dir.socketPath, "precious");
    const worker = spawnWorker({ exe: bridgeExe("--tool", "probe"), projectRoot: pool.projectRoot(), dir });
    cleanups.push(() => killQuietly(worker.child.pid!, "SIGKILL"));
    expect(await worker.exited).toEqual({ code: 2, signal: null });
    expect(readFileSync(dir.stderrPath, "utf8")).toMatch(/exists and is not a socket; refusing to replace it/);
    expect(readFileSync(dir.socketPath, "utf8")).toBe("precious");
    expect(isAlive(worker.child.pid!)).toBe(false);
  });
});
