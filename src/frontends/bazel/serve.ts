import type { Readable } from "node:stream";
import { obtainRuntime, type RuntimeSource } from "../../runtime/runtime.js";
import { BazelWorker } from "./bazel-worker.js";
import type { WorkMessageFormat } from "../../protocol/bazel/codec.js";

export interface BazelServeOptions {
  /** Must match the rule's requires-worker-protocol. */
  format: WorkMessageFormat;
  /** Largest request accepted, in bytes. */
  maxMessageBytes: number;
  /** On SIGTERM or EOF running jobs are aborted at once and the worker exits within this bound. */
  shutdownGraceMs: number;
  /** Requests arrive here; default: process.stdin. */
  input?: Readable;
  /** The only path to the real stdout: each call carries one or more complete responses. */
  write: (data: Uint8Array, cb: (err?: Error | null) => void) => boolean;
  /** The execroot sandbox_dir resolves under; default: the process's cwd. */
  cwd?: string;
}

/**
 * The Bazel front door: answers WorkRequests from stdin until EOF or SIGTERM, then closes the
 * runtime's host. Resolves with the exit code.
 */
export async function serveBazel(source: RuntimeSource, options: BazelServeOptions): Promise<number> {
  const runtime = await obtainRuntime(source);
  const worker = new BazelWorker({
    format: options.format,
    dispatcher: runtime.dispatcher,
    input: options.input ?? process.stdin,
    write: options.write,
    cwd: options.cwd ?? process.cwd(),
    logger: runtime.logger,
    maxMessageBytes: options.maxMessageBytes,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  const onOutputError = (err: Error): void => worker.outputClosed(err);
  process.stdout.on("error", onOutputError);
  const onSignal = (): void => void worker.stop("signal", 0);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  worker.start();
  const code = await worker.done;
  await Promise.race([runtime.host.close(), delay(options.shutdownGraceMs)]);
  runtime.logSummary();
  return code;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
