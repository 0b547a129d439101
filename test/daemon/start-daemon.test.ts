// A client holding the start lock must never start a second daemon while the key's daemon is alive
// but did not take its connect in time (a client starved on a loaded machine, a full backlog):
// docs/daemon.md, "Starting". Before this rule, 50 clients at once on a loaded machine sometimes
// spawned a second daemon whose bind then failed.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { daemonPaths } from "../../src/daemon/daemon-dir.js";
import { writeDaemonInfo } from "../../src/daemon/daemon-info.js";
import { computeDaemonKey, daemonTool } from "../../src/daemon/key.js";
import { startDaemon } from "../../src/daemon/start-daemon.js";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function waitForSpawn(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
}

it("a live daemon that does not accept in time is waited for, not replaced", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-start-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const key = computeDaemonKey(daemonTool("probe", dir), [], { host: "process", concurrency: 1, tools: 1, abortGraceMs: 1000, maxRequestsPerTool: undefined, maxToolMemoryMb: undefined });
  const paths = daemonPaths(dir, key.fileStem);
  // A process that passes for the key's daemon (its command line names `serve` and the key) but
  // never listens: every connect fails, as when the daemon is alive but the client is too slow.
  const fake = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", "serve", `--daemon-key=${key.digest}`], { stdio: "ignore" });
  cleanups.push(() => fake.kill("SIGKILL"));
  await waitForSpawn(fake);
  writeDaemonInfo(paths.info, { pid: fake.pid!, key: key.digest, parts: key.parts, socket: paths.socket, log: paths.log, startedAt: new Date().toISOString() });

  const started = await startDaemon(paths, { dir, key, env: {}, serveArgs: [], startTimeoutMs: 400 }, "ETIMEDOUT");

  expect("reason" in started && started.reason).toMatch(/the running daemon did not accept a connection in time/);
  // Nothing was spawned: a start opens the log first.
  expect(existsSync(paths.log)).toBe(false);
  expect(existsSync(paths.lock)).toBe(false);
});
