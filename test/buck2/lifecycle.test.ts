// Worker lifetime: the end-of-command SIGTERM, worker death mid-request, and parent death
// (docs/protocol/buck2-worker.md §3, §7.2, §10; issue rule 6; §15 scenarios 9 and 10).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { startMarker } from "../support/job-started.js";
import { BRIDGE_CLI, bridgeExe, delay, descendants, isAlive, killQuietly } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const METER = fileURLToPath(new URL("./fixtures/meter-tool.mjs", import.meta.url));
const pool = new HarnessPool();
const pids: number[] = [];
afterEach(() => {
  pool.cleanup();
  for (const p of pids.splice(0)) killQuietly(p, "SIGKILL");
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await delay(50);
  }
  return check();
}

describe("Buck2 worker lifecycle", () => {
  test("SIGTERM with requests in flight: prompt exit 0, every call answered, tool processes gone (§10, scenario 10)", async () => {
    const buck2 = pool.create();
    // The default (process) host: the tool runs in child processes, which must go down with us.
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--shutdown-grace-ms", "300") });
    await buck2.runAction({ worker, args: ["--echo=up"] });
    const running = [startMarker(), startMarker()];
    const inFlight = [
      buck2.runAction({ worker, args: ["--echo=one", running[0]!.arg, "--sleep=60000"] }),
      buck2.runAction({ worker, args: ["--echo=two", running[1]!.arg, "--hang"] }),
    ];
    await Promise.all(running.map((m) => m.reached()));
    const report = await buck2.endCommand();
    const [w] = report.workers;
    expect(w!.exit).toEqual({ code: 0, signal: null });
    expect(w!.neededSigkill).toBe(false);
    expect(w!.survivors).toEqual([]);
    expect(w!.socketLeftBehind).toBe(false);
    for (const result of await Promise.all(inFlight)) {
      // Answered before the worker exits: aborted after the grace, with the reason in stderr.
      expect(result.kind).toBe("failed");
      if (result.kind === "failed") expect(result.stderr).toMatch(/aborted because the worker is shutting down/);
    }
  });

  test("SIGTERM: new requests are refused with a response (not UNAVAILABLE) while in-flight ones finish within the grace (§10, §6.3)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--host", "inline", "--shutdown-grace-ms", "5000", "--log-level", "info") });
    await buck2.runAction({ worker, args: ["--echo=up"] });
    const running = startMarker();
    const inFlight = buck2.runAction({ worker, args: [running.arg, "--sleep=2500", "--echo=finished in the grace"] });
    await running.reached();
    process.kill(buck2.worker(worker)!.pid!, "SIGTERM");
    // The worker logs "stopping" as it starts refusing new work.
    expect(await waitFor(() => /info: stopping reason=SIGTERM/.test(buck2.worker(worker)!.logs.stderr), 10_000)).toBe(true);
    const refused = await buck2.runAction({ worker, args: ["--echo=too late"] });
    expect(refused.kind).toBe("failed");
    if (refused.kind === "failed") expect(refused.stderr).toMatch(/was not run because the worker is shutting down \(received SIGTERM\)/);
    expect(await inFlight).toMatchObject({ kind: "success", stderr: "finished in the grace" });
    expect(buck2.worker(worker)!.grpcStatuses).toEqual([]);
    const report = await buck2.endCommand();
    expect(report.workers[0]!.exit).toEqual({ code: 0, signal: null });
    expect(report.workers[0]!.socketLeftBehind).toBe(false);
  });

  test("SIGTERM aborts a job that wraps a child process, and the child is gone afterwards (§10)", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER, "--host", "inline", "--shutdown-grace-ms", "200") });
    const running = buck2.runAction({ worker, args: ["--spawn-child=child.pid"] });
    const pidFile = join(buck2.projectRoot, "child.pid");
    expect(await waitFor(() => readPid(pidFile) !== undefined, 20_000)).toBe(true);
    const childPid = readPid(pidFile)!;
    pids.push(childPid);
    expect(isAlive(childPid)).toBe(true);
    const report = await buck2.endCommand();
    expect(report.workers[0]!.neededSigkill).toBe(false);
    expect(await waitFor(() => !isAlive(childPid), 5000)).toBe(true);
    expect((await running).kind).not.toBe("success");
  });

  test("the worker dies mid-request: `Worker exited while running command`, and later requests fail too (§7.2, §3, scenario 9)", async () => {
    const buck2 = pool.create();
    // Inline host: the probe's --crash takes the whole worker process down.
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--host", "inline") });
    expect((await buck2.runAction({ worker, args: ["--echo=alive"] })).kind).toBe("success");
    const { dir } = buck2.worker(worker)!;
    const expected = `Worker exited while running command, see worker logs:\n${dir.stdoutPath}\n${dir.stderrPath}`;
    const crashed = await buck2.runAction({ worker, args: ["--sleep=100", "--crash"] });
    expect(crashed).toEqual({ kind: "worker-failure", executor: "Worker", message: expected });
    const later = await buck2.runAction({ worker, args: ["--echo=too late"] });
    expect(later).toEqual({ kind: "worker-failure", executor: "Worker", message: expected });
    const report = await buck2.endCommand();
    expect(report.workers).toHaveLength(1);
    expect(report.workers[0]!.exitedBeforeEnd).toBe(true);
    expect(report.workers[0]!.exit).toEqual({ code: 70, signal: null });
  });

  test("parent death: the worker notices it was orphaned and exits on its own (§10, issue rule 6)", async () => {
    const root = pool.projectRoot();
    const socket = join(root, "socket");
    // sh stands in for Buck2's forkserver; SIGKILL gives it no chance to stop the worker.
    const parent = spawn("sh", ["-c", `"${process.execPath}" "${BRIDGE_CLI}" --tool probe & echo $!; wait`], {
      cwd: root,
      env: { ...process.env, WORKER_SOCKET: socket },
      stdio: ["ignore", "pipe", "inherit"],
    });
    pids.push(parent.pid!);
    const workerPid = Number(await new Promise<string>((r) => parent.stdout!.once("data", (d: Buffer) => r(d.toString().trim()))));
    pids.push(workerPid);
    expect(await waitFor(() => descendants(parent.pid!).includes(workerPid) && existsSocket(socket), 20_000)).toBe(true);
    parent.kill("SIGKILL");
    expect(await waitFor(() => !isAlive(workerPid), 15_000)).toBe(true);
    expect(existsSocket(socket)).toBe(false);
  });
});

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8"));
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function existsSocket(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}
