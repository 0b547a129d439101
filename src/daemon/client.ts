import { spawn } from "node:child_process";
import { appendFileSync, closeSync, openSync, readFileSync, unlinkSync } from "node:fs";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { RunRequest } from "../protocol/daemon-messages.js";
import { connectDaemon, exchange } from "./connect.js";
import { daemonPaths, ensurePrivateDir, fallbackLogPath, type DaemonPaths } from "./daemon-dir.js";
import { readDaemonInfo } from "./daemon-info.js";
import type { DaemonKey } from "./key.js";
import { recordKilledDaemon, startPausedReason } from "./start-history.js";
import { breakStartLock, isAlive, isStaleStartLock, releaseStartLock, tryAcquireStartLock } from "./start-lock.js";

/** sun_path is 108 bytes on Linux, 104 on macOS, both counting the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = process.platform === "linux" ? 107 : 103;

/** How long a client waits for a daemon to start (its own or another client's) before running in-process. */
export const DAEMON_START_TIMEOUT_MS = 15_000;

export interface DaemonStartOptions {
  readonly dir: string;
  readonly key: DaemonKey;
  /** The client's environment (the daemon keeps only PATH, HOME and locale from it). */
  readonly env: Readonly<Record<string, string>>;
  /** Arguments after `worker-bridge daemon serve` that start a daemon for this key. */
  readonly serveArgs: readonly string[];
  readonly startTimeoutMs?: number;
}

export interface DaemonClientOptions extends DaemonStartOptions {
  /** The request as the client would run it in-process. */
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly timeoutMs?: number;
}

/** The daemon ran the request, or why the client must run it in-process. */
export type DaemonOutcome = { kind: "ran"; exitCode: number; output: string } | { kind: "unavailable"; reason: string };

/** The bridge's own entry point, which a new daemon runs. */
export function bridgeEntryPoint(): string {
  return fileURLToPath(new URL("../cli.js", import.meta.url));
}

/**
 * Runs a request in this key's daemon, starting the daemon when there is none. Never throws and
 * never runs the request twice: `unavailable` is only returned when the daemon did not finish it
 * (it refused, could not be reached or started, or died before answering).
 */
export async function runThroughDaemon(options: DaemonClientOptions): Promise<DaemonOutcome> {
  try {
    ensurePrivateDir(options.dir, process.getuid!());
  } catch (err) {
    // Not ours to write in, so the fallback is not counted there either.
    return { kind: "unavailable", reason: (err as Error).message };
  }
  const outcome = await runInPrivateDir(options);
  if (outcome.kind === "unavailable") recordFallback(options.dir, outcome.reason);
  return outcome;
}

async function runInPrivateDir(options: DaemonClientOptions): Promise<DaemonOutcome> {
  const paths = daemonPaths(options.dir, options.key.fileStem);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH_BYTES) {
    return { kind: "unavailable", reason: `the daemon socket path ${paths.socket} is longer than a Unix socket path may be; use a shorter --daemon-dir` };
  }
  const request: RunRequest = {
    type: "run",
    key: options.key.digest,
    cwd: options.cwd,
    argv: options.argv,
    env: options.env,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  // Two rounds: a daemon that was just exiting on idle refuses; the second round starts a new one.
  let lastReason = "";
  for (let round = 0; round < 2; round++) {
    const conn = await connectDaemon(paths.socket);
    let socket: Socket;
    if ("socket" in conn) socket = conn.socket;
    else {
      const started = await startDaemon(paths, options, conn.error);
      if ("reason" in started) return { kind: "unavailable", reason: started.reason };
      socket = started.socket;
    }
    const { messages, lost } = await exchange(socket, request);
    const refused = messages.find((m) => m.type === "refused");
    if (refused) {
      if (!refused.reason.includes("shutting down")) return { kind: "unavailable", reason: `the daemon refused the request: ${refused.reason}` };
      lastReason = refused.reason;
      continue;
    }
    const exit = messages.find((m) => m.type === "exit");
    if (exit && exit.type === "exit") {
      const output = messages.map((m) => (m.type === "output" ? m.text : "")).join("");
      return { kind: "ran", exitCode: exit.code, output };
    }
    const accepted = messages.some((m) => m.type === "accepted");
    return {
      kind: "unavailable",
      reason: accepted ? `the daemon died mid-request (${lost ?? "connection closed before the exit code"})` : `the daemon did not answer (${lost ?? "connection closed"})`,
    };
  }
  return { kind: "unavailable", reason: `the daemon kept refusing: ${lastReason}` };
}

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
  if (previous && !isAlive(previous.pid)) {
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
    const child = spawn(process.execPath, [bridgeEntryPoint(), "daemon", "serve", ...options.serveArgs], {
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

/** Counts a fallback where `daemon status` can show it. */
function recordFallback(dir: string, reason: string): void {
  try {
    appendFileSync(fallbackLogPath(dir), `${new Date().toISOString()} pid=${process.pid} ${reason}\n`, { mode: 0o600 });
  } catch {
    // The directory may be the very reason we fell back.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
