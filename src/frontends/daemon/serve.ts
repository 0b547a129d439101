import { statSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { isAbsolute } from "node:path";
import { restrictToOwner } from "../../daemon/daemon-dir.js";
import { removeDaemonInfo, writeDaemonInfo } from "../../daemon/daemon-info.js";
import type { DaemonKey } from "../../daemon/key.js";
import type { BridgeVerifier } from "../../daemon/verify-bridge.js";
import { LengthPrefixedDecoder } from "../../protocol/daemon/length-prefix.js";
import {
  DaemonMessageError,
  decodeClientMessage,
  encodeDaemonWire,
  MAX_DAEMON_MESSAGE_BYTES,
  type DaemonMessage,
  type RunRequest,
} from "../../protocol/daemon/messages.js";
import { obtainRuntime, type RuntimeSource } from "../../runtime/runtime.js";

export interface DaemonServeOptions {
  /** The key this process computed for itself. */
  readonly key: DaemonKey;
  /** Checks a client's bridge is the build the key names, before its request runs. */
  readonly bridge: BridgeVerifier;
  /** The key digest the starting client asked for; serving stops before it starts if they differ. */
  readonly expectedKey: string;
  readonly socketPath: string;
  readonly infoPath: string;
  readonly logPath: string;
  /** Exit after this long with no request in flight. */
  readonly idleTimeoutMs: number;
  /** Running jobs get this long to finish when the daemon is stopped. */
  readonly shutdownGraceMs: number;
  /** For `daemon status`: the tool as given and its startup arguments. */
  readonly tool: string;
  readonly startupArgs: readonly string[];
  /** How often the daemon checks its socket file is still its own; default 2 s. */
  readonly socketCheckMs?: number;
}

/** Why the daemon stopped serving. */
export type DaemonStopReason = "idle" | "stop-request" | "signal" | "socket-removed";

/**
 * The daemon front door (docs/daemon.md): serves one key on a Unix socket, one request per
 * connection, each run with the client's cwd, argv, whole env and timeout. A connection closed
 * before the answer aborts its job. Exits after the idle timeout, on `daemon stop`, on SIGTERM,
 * or when its socket file is removed or replaced. Resolves with the exit code: 0; 3 when another
 * daemon already serves the key (the socket path was taken); 4 when this process's key is not the
 * one asked for (the tool or the bridge changed in between).
 *
 * Jobs get each client's whole env with the request. The daemon empties its own process env
 * before the runtime snapshots it, so nothing of the client that started the daemon (or of the
 * daemon itself) can leak into another client's job.
 */
export async function serveDaemon(source: RuntimeSource, options: DaemonServeOptions): Promise<number> {
  if (options.key.digest !== options.expectedKey) {
    process.stderr.write(
      `worker-bridge daemon: my key ${options.key.digest.slice(0, 12)} is not the requested ${options.expectedKey.slice(0, 12)} (tool or bridge changed?); exiting\n`,
    );
    return 4;
  }
  for (const name of Object.keys(process.env)) delete process.env[name];
  const runtime = await obtainRuntime(source);
  const { logger } = runtime;
  const startedAt = new Date().toISOString();
  let requests = 0;
  let inFlight = 0;
  let stopping = false;
  const sockets = new Set<Socket>();
  let stopRequested: (reason: DaemonStopReason) => void = () => {};
  const stopped = new Promise<DaemonStopReason>((r) => {
    stopRequested = r;
  });
  const stop = (reason: DaemonStopReason): void => {
    if (stopping) return;
    stopping = true;
    stopRequested(reason);
  };

  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idleTimer);
    // The timer runs only while nothing is in flight: a compile longer than the timeout is not cut off.
    if (inFlight === 0) idleTimer = setTimeout(() => stop("idle"), options.idleTimeoutMs);
  };

  const send = (socket: Socket, message: DaemonMessage): void => {
    if (!socket.destroyed) socket.write(encodeDaemonWire(message));
  };

  const run = async (socket: Socket, request: RunRequest): Promise<void> => {
    if (request.key !== options.key.digest) {
      send(socket, { type: "refused", reason: `this daemon serves key ${options.key.digest.slice(0, 12)}, not ${request.key.slice(0, 12)}` });
      socket.end();
      return;
    }
    // The key only carries the digest the client's bridge claims; its content must match it.
    const wrongBridge = options.bridge.check(request.bridge);
    if (wrongBridge !== undefined) {
      send(socket, { type: "refused", reason: wrongBridge });
      socket.end();
      return;
    }
    if (!isAbsolute(request.cwd)) {
      send(socket, { type: "refused", reason: `cwd ${JSON.stringify(request.cwd)} is not absolute` });
      socket.end();
      return;
    }
    if (stopping) {
      send(socket, { type: "refused", reason: "the daemon is shutting down" });
      socket.end();
      return;
    }
    requests++;
    inFlight++;
    clearTimeout(idleTimer);
    const abort = new AbortController();
    const onClose = (): void => abort.abort(new Error("the client went away"));
    socket.once("close", onClose);
    send(socket, { type: "accepted", pid: process.pid });
    try {
      const result = await runtime.dispatcher.submit(
        {
          id: requests,
          origin: "daemon",
          args: request.argv,
          inputs: [],
          cwd: request.cwd,
          env: request.env,
          ...(request.timeoutMs !== undefined && request.timeoutMs > 0 ? { timeoutMs: request.timeoutMs } : {}),
          signal: abort.signal,
          verbosity: 0,
        },
        abort,
      );
      socket.off("close", onClose);
      if (result.end === "cancelled" && stopping && !socket.destroyed) {
        // Aborted by our own shutdown, not by the client: an answer would be a failure the build
        // did not earn. Hang up without an exit code; the client runs the request in-process.
        socket.destroy();
        return;
      }
      if (result.output.length > 0) send(socket, { type: "output", text: result.output });
      send(socket, { type: "exit", code: result.exitCode });
      socket.end();
    } finally {
      inFlight--;
      if (!stopping) armIdle();
    }
  };

  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const decoder = new LengthPrefixedDecoder(MAX_DAEMON_MESSAGE_BYTES);
    let handled = false;
    socket.on("data", (chunk: Buffer) => {
      if (handled) return; // one request per connection; anything after it is ignored
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        handled = true;
        send(socket, { type: "refused", reason: (err as Error).message });
        socket.end();
        return;
      }
      if (frames.length === 0) return;
      handled = true;
      let message;
      try {
        message = decodeClientMessage(frames[0]!);
      } catch (err) {
        send(socket, { type: "refused", reason: err instanceof DaemonMessageError ? err.message : String(err) });
        socket.end();
        return;
      }
      if (message.type === "run") {
        void run(socket, message);
      } else if (message.type === "status") {
        send(socket, {
          type: "status",
          pid: process.pid,
          key: options.key.digest,
          tool: options.tool,
          startupArgs: [...options.startupArgs],
          startedAt,
          requests,
          inFlight,
          idleTimeoutMs: options.idleTimeoutMs,
        });
        socket.end();
      } else {
        send(socket, { type: "stopping", pid: process.pid });
        socket.end();
        stop("stop-request");
      }
    });
  };

  const server = createServer(onConnection);
  // Sockets and files this daemon creates are the user's alone.
  process.umask(0o077);
  const bound = await listen(server, options.socketPath);
  if (bound !== undefined) {
    if (bound === "EADDRINUSE") {
      logger.warn("another daemon already serves this key; exiting", { socket: options.socketPath });
      await runtime.close(0);
      return 3;
    }
    throw new Error(`cannot listen on ${options.socketPath}: ${bound}`);
  }
  restrictToOwner(options.socketPath);
  const inode = statSync(options.socketPath).ino;
  writeDaemonInfo(options.infoPath, {
    pid: process.pid,
    key: options.key.digest,
    parts: options.key.parts,
    socket: options.socketPath,
    log: options.logPath,
    startedAt,
  });
  logger.requested("daemon serving", { pid: process.pid, socket: options.socketPath, key: options.key.digest });
  armIdle();

  // A daemon whose socket was removed (a wiped /tmp, `rm`) can never be reached again.
  const socketCheck = setInterval(() => {
    let ino: number | undefined;
    try {
      ino = statSync(options.socketPath).ino;
    } catch {
      ino = undefined;
    }
    if (ino !== inode) stop("socket-removed");
  }, options.socketCheckMs ?? 2000);
  const onSignal = (): void => stop("signal");
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("SIGHUP", onSignal);

  const reason = await stopped;
  logger.requested("daemon stopping", { reason, inFlight });
  clearInterval(socketCheck);
  clearTimeout(idleTimer);
  server.close();
  // Remove our name first, so new clients start a successor instead of queueing on us.
  try {
    if (statSync(options.socketPath).ino === inode) unlinkSync(options.socketPath);
  } catch {
    // already gone
  }
  removeDaemonInfo(options.infoPath, process.pid);
  await runtime.close(reason === "idle" ? 0 : options.shutdownGraceMs);
  for (const s of sockets) s.destroy();
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  process.off("SIGHUP", onSignal);
  return 0;
}

/** Binds the socket; resolves undefined on success or with the error code. */
function listen(server: Server, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(path, () => {
      server.removeAllListeners("error");
      resolve(undefined);
    });
  });
}
