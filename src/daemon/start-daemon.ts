import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, unlinkSync } from "node:fs";
import type { Socket } from "node:net";
import type { DaemonKey } from "./key.js";
import { connectDaemon } from "./connect.js";
import type { DaemonPaths } from "./daemon-dir.js";
import { readDaemonInfo } from "./daemon-info.js";
import { daemonEntryPoint } from "./stage-bridge.js";
import { recordKilledDaemon, startPausedReason } from "./start-history.js";
import { breakStartLock, isDaemonAlive, isStaleStartLock, releaseStartLock, tryAcquireStartLock } from "./start-lock.js";

export interface DaemonStartOptions {
  readonly dir: string;
  readonly key: DaemonKey;
  /** The client's environment (the daemon keeps only PATH, HOME and locale from it). */
  readonly env: Readonly<Record<string, string>>;
  /** Arguments after `worker-bridge daemon serve` that start a daemon for this key. */
  readonly serveArgs: readonly string[];
  readonly startTimeoutMs?: number;
}

/** How long a client waits for a daemon to start (its own or another client's) before running in-process. */
export const DAEMON_START_TIMEOUT_MS = 15_000;

export type Started = { socket: Socket } | { reason: string };

/**
 * Starts the key's daemon under the start lock, or waits for the client holding it. Re-checks
 * under the lock, and removes a socket file only after a failed connect while holding the lock.
 */
export async function startDaemon(paths: DaemonPaths, options: DaemonStartOptions, firstError: string): Promise<Started> {
  const deadline = Date.now() + (options.startTimeoutMs ?? DAEMON_START_TIMEOUT_MS);
  let wait = 5;
  let lastError = firstError;
  while (Date.now() < deadline) {
    if (tryAcquireStartLock(paths.lock)) {
      try {
        return await startUnderLock(paths, options, deadline);
      } finally {
        releaseStartLock(paths.lock);
      }
    }
    if (isStaleStartLock(paths.lock)) {
      breakStartLock(paths.lock);
      continue;
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
    const conn = await connectDaemon(paths.socket);
    if ("socket" in conn) return conn;
    lastError = conn.error;
  }
  return { reason: `no daemon became reachable within ${options.startTimeoutMs ?? DAEMON_START_TIMEOUT_MS} ms (last connect: ${lastError})` };
}

async function startUnderLock(paths: DaemonPaths, options: DaemonStartOptions, deadline: number): Promise<Started> {
  const again = await connectDaemon(paths.socket);
  if ("socket" in again) return again;
  const previous = readDaemonInfo(paths.info);
  if (previous && previous.key === options.key.digest && isDaemonAlive(previous.pid, previous.key)) {
    // The daemon is alive but did not take this connect in time (a starved client's timer, a full
    // backlog): starting another would only see its bind fail. Keep knocking on the live one.
    return connectUntil(paths, deadline, again.error);
  }
  if (previous && !isDaemonAlive(previous.pid, previous.key)) {
    // Its info file is still there, so it did not exit on its own: something killed it.
    recordKilledDaemon(paths.deaths);
    try {
      unlinkSync(paths.info);
    } catch {
      // gone already
    }
  }
  const paused = startPausedReason(paths.deaths);
  if (paused !== undefined) return { reason: paused };
  if (again.error === "ECONNREFUSED" || again.error === "ETIMEDOUT") {
    // Nobody accepts on it and we hold the lock, so no one is starting a daemon on it right now.
    try {
      unlinkSync(paths.socket);
    } catch {
      // gone already
    }
  }
  const entry = daemonEntryPoint(options.dir);
  if ("reason" in entry) return entry;
  let logFd: number;
  try {
    logFd = openSync(paths.log, "a", 0o600);
  } catch (err) {
    return { reason: `cannot open the daemon log ${paths.log}: ${(err as Error).message}` };
  }
  let exited: string | undefined;
  try {
    // setsid (detached), stdio to the log, cwd "/": the daemon must hold none of the action's
    // pipes (a caller waiting for EOF would hang) nor keep its directory busy.
    const child = spawn(process.execPath, [entry.path, "daemon", "serve", ...options.serveArgs], {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      cwd: "/",
      env: daemonEnv(options.env),
    });
    child.once("error", (err) => {
      exited = `could not be spawned: ${err.message}`;
    });
    child.once("exit", (code, signal) => {
      exited = `exited during start-up (${signal ?? `code ${code}`})`;
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }
  let wait = 5;
  while (Date.now() < deadline) {
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
    const conn = await connectDaemon(paths.socket);
    if ("socket" in conn) return conn;
    if (exited !== undefined) return { reason: `the daemon ${exited}: ${lastLogLine(paths.log)}` };
  }
  return { reason: `the daemon did not start listening within ${options.startTimeoutMs ?? DAEMON_START_TIMEOUT_MS} ms (log: ${paths.log})` };
}

async function connectUntil(paths: DaemonPaths, deadline: number, firstError: string): Promise<Started> {
  let wait = 5;
  let lastError = firstError;
  while (Date.now() < deadline) {
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
    const conn = await connectDaemon(paths.socket);
    if ("socket" in conn) return conn;
    lastError = conn.error;
  }
  return { reason: `the running daemon did not accept a connection in time (last connect: ${lastError})` };
}

/**
 * The daemon's own environment. Jobs get each client's whole env with the request, so the daemon
 * keeps only what locates things for itself; the first client's env must not become every job's.
 */
function daemonEnv(clientEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "LC_ALL", "TZ"]) {
    const value = clientEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function lastLogLine(path: string): string {
  try {
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    return lines[lines.length - 1] || "(empty log)";
  } catch {
    return "(no log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
