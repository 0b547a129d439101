import { appendFileSync } from "node:fs";
import type { Socket } from "node:net";
import type { RunRequest } from "../protocol/daemon/messages.js";
import { bridgeLocation, runningBridge } from "./bridge-identity.js";
import { connectDaemon, exchange } from "./connect.js";
import { daemonPaths, ensurePrivateDir, fallbackLogPath } from "./daemon-dir.js";
import type { DaemonStartOptions } from "./start-daemon.js";

/** sun_path is 108 bytes on Linux, 104 on macOS, both counting the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = process.platform === "linux" ? 107 : 103;


export interface DaemonClientOptions extends DaemonStartOptions {
  /** The request as the client would run it in-process. */
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly timeoutMs?: number;
}

/** The daemon ran the request, or why the client must run it in-process. */
export type DaemonOutcome = { kind: "ran"; exitCode: number; output: string } | { kind: "unavailable"; reason: string };

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
    bridge: bridgeLocation(runningBridge()),
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
      // Only a client that finds no daemon pays for loading the start-up path.
      const { startDaemon } = await import("./start-daemon.js");
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

/** Counts a fallback where `daemon status` can show it. */
function recordFallback(dir: string, reason: string): void {
  try {
    appendFileSync(fallbackLogPath(dir), `${new Date().toISOString()} pid=${process.pid} ${reason}\n`, { mode: 0o600 });
  } catch {
    // The directory may be the very reason we fell back.
  }
}

