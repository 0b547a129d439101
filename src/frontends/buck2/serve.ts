import type { Server } from "@grpc/grpc-js";
import { obtainRuntime, type Runtime, type RuntimeSource } from "../../runtime/runtime.js";
import { writeStderr } from "../../supervisor/output-capture.js";
import { bindUnixSocket, createBuck2Server } from "./grpc-server.js";
import { watchForStop } from "./lifecycle.js";
import { RequestRunner } from "./request-runner.js";
import { checkSocketPathLength, removeSocket, SocketPathError, socketInode } from "./socket-path.js";
import { bridgeMessage, EXIT_CODES } from "../../errors.js";

/** How often the parent pid is checked (JavaCD checks every 10 s; a second is cheap). */
const PARENT_POLL_MS = 1000;
/** Beyond the shutdown grace, how long closing may take before we exit regardless (Buck2 SIGKILLs at 10 s). */
const SHUTDOWN_BACKSTOP_MS = 3000;

export interface Buck2ServeOptions {
  /** The Unix socket to listen on ($WORKER_SOCKET). */
  socketPath: string;
  /** Largest request accepted, in bytes. */
  maxMessageBytes: number;
  /** On SIGTERM running jobs get this long to finish, then are aborted. */
  shutdownGraceMs: number;
}

/**
 * The Buck2 front door (docs/protocol/buck2-worker.md §14): serve `worker.Worker` and `worker.WorkerStreaming` on the Unix
 * socket in $WORKER_SOCKET until SIGTERM or the parent dies. Resolves with the exit code.
 */
export async function serveBuck2(source: RuntimeSource, options: Buck2ServeOptions): Promise<number> {
  const { socketPath } = options;
  try {
    checkSocketPathLength(socketPath);
  } catch (err) {
    if (err instanceof SocketPathError) {
      writeStderr(`${bridgeMessage(err.message)}\n`);
      return EXIT_CODES.usage;
    }
    throw err;
  }
  // Watch from the start: a SIGTERM during start-up must still end in an orderly exit.
  const stop = watchForStop({ parentPollMs: PARENT_POLL_MS });
  let runtime: Runtime;
  try {
    runtime = await obtainRuntime(source);
  } catch (err) {
    stop.dispose();
    throw err;
  }
  const { logger } = runtime;
  const runner = new RequestRunner({ dispatcher: runtime.dispatcher, cwd: process.cwd(), logger });
  const server = createBuck2Server(runner, { maxReceiveBytes: options.maxMessageBytes });
  try {
    await bindUnixSocket(server, socketPath);
  } catch (err) {
    stop.dispose();
    server.forceShutdown();
    await runtime.close(0);
    const detail = err instanceof SocketPathError ? err.message : `cannot listen on WORKER_SOCKET ${socketPath}: ${(err as Error).message}`;
    writeStderr(`${bridgeMessage(detail)}\n`);
    return EXIT_CODES.usage;
  }
  const inode = await socketInode(socketPath);
  logger.info("serving the Buck2 worker protocol", { socket: socketPath, pid: process.pid, cwd: process.cwd() });

  const reason = await stop.stopped;
  // The handlers stay until we return: a second SIGTERM during shutdown must not kill us mid-answer.
  logger.info("stopping", { reason, inFlight: runtime.dispatcher.pending });
  const backstop = setTimeout(() => {
    writeStderr(`${bridgeMessage(`shutdown did not finish within ${options.shutdownGraceMs + SHUTDOWN_BACKSTOP_MS} ms; exiting anyway`)}\n`);
    process.exit(EXIT_CODES.ok);
  }, options.shutdownGraceMs + SHUTDOWN_BACKSTOP_MS);
  backstop.unref();

  runner.stop(reason === "parent-exited" ? "the parent process exited" : `received ${reason}`);
  // Stop accepting connections by removing the socket's name. Not server.unbind(): that also sends
  // GOAWAY on the open connection, and a request arriving in the grace would then fail on the
  // client (as UNAVAILABLE, which Buck2 retries) instead of getting our answer.
  await removeSocket(socketPath, inode);
  // In-flight jobs get the grace, then are aborted; either way each gets its one response.
  await runtime.dispatcher.close(options.shutdownGraceMs);
  await closeServer(server, 1000);
  await Promise.race([runtime.host.close(), delay(options.shutdownGraceMs)]);
  runtime.logSummary();
  clearTimeout(backstop);
  stop.dispose();
  return EXIT_CODES.ok;
}

/** Lets responses already written reach the client, then drops whatever is left. */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
