import type { Readable } from "node:stream";
import type { Dispatcher } from "../../core/dispatcher.js";
import type { Job } from "../../core/job.js";
import type { ToolInput } from "../../tool-api/define-tool.js";
import type { Logger } from "../../core/logger.js";
import type { WorkRequestData, WorkResponseData } from "../../protocol/bazel/messages.js";
import { JobAbort } from "../../core/job-abort.js";
import { ProtocolError } from "../../protocol/bazel/protocol-error.js";
import { createCodec, type WorkMessageFormat } from "../../protocol/bazel/codec.js";
import { resolveSandboxDir } from "./sandbox-dir.js";

export interface BazelWorkerOptions {
  format: WorkMessageFormat;
  dispatcher: Dispatcher;
  /** Requests arrive here (stdin). */
  input: Readable;
  /** The only path to the real stdout: each call carries one or more complete responses. */
  write: (data: Uint8Array, cb: (err?: Error | null) => void) => boolean;
  /** The worker's cwd (the execroot); sandbox_dir is resolved under it. */
  cwd: string;
  logger: Logger;
  maxMessageBytes: number;
  /** How long in-flight requests get to answer once shutdown starts. */
  shutdownGraceMs: number;
}

/** A request as a neutral job. */
class BazelJob implements Job {
  readonly id: number;
  readonly origin = "bazel";
  readonly args: readonly string[];
  readonly inputs: readonly ToolInput[];
  readonly env = NO_ENV;
  readonly verbosity: number;
  readonly refused?: string;

  /** Private for real: a job may be spread or serialised (the recorder), this must not come along. */
  readonly #pending: PendingRequest;

  constructor(
    pending: PendingRequest,
    readonly cwd: string,
    refused: string | undefined,
  ) {
    this.#pending = pending;
    const { request } = pending;
    this.id = request.requestId;
    this.args = request.arguments;
    this.inputs = request.inputs;
    this.verbosity = request.verbosity;
    if (refused !== undefined) this.refused = refused;
  }

  /**
   * Read only by whoever needs a real AbortSignal (an observer, a host without on-demand signals):
   * a request nobody aborts then never makes one.
   */
  get signal(): AbortSignal {
    return this.#pending.abort.signal;
  }
}

/** The requests of one id: not yet answered, oldest first, and the one launched last. */
interface IdLine {
  readonly queue: PendingRequest[];
  tail: PendingRequest | undefined;
}

/** One request in flight. Its response can be taken once: that is how "exactly one answer" holds. */
class PendingRequest {
  /** Cancel, timeout and shutdown abort this; an AbortSignal exists only if someone asks for one. */
  readonly abort = new JobAbort();
  cancelRequested = false;
  answered = false;
  /** Settles when the request has been answered. */
  done: Promise<void> | undefined;
  constructor(readonly request: WorkRequestData) {}
}

export type ShutdownReason = "eof" | "signal" | "protocol-error" | "output-closed";

/**
 * The Bazel persistent-worker loop: WorkRequests in, WorkResponses out. Requests with the same id
 * run one after another (id 0 is singleplex), different ids run concurrently, responses go out in
 * completion order, each in one write.
 */
export class BazelWorker {
  private readonly codec;
  /**
   * Per request id, its requests not yet answered. The entry of id 0 (singleplex, every request)
   * stays once made: deleting a Map's last entry and adding it back reallocates its table, on
   * every request. Multiplex ids are unique per request in Bazel, so theirs are removed.
   */
  private readonly lines = new Map<number, IdLine>();
  private pendingWrites = 0;
  /** Encoded responses waiting for this microtask's single write. */
  private readonly outbox: Buffer[] = [];
  private writesDrained: (() => void) | undefined;
  private stopping: Promise<number> | undefined;
  private outputBroken = false;
  private resolveDone!: (code: number) => void;
  /** Resolves with the process exit code once the worker has shut down. */
  readonly done: Promise<number>;

  constructor(private readonly options: BazelWorkerOptions) {
    this.codec = createCodec(options.format, options.maxMessageBytes);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  start(): void {
    const { input } = this.options;
    input.on("data", (chunk: Buffer) => this.onData(chunk));
    input.on("end", () => this.onEnd());
    input.on("error", (err) => {
      this.options.logger.error(`reading requests failed: ${err.message}`);
      void this.stop("eof", 1);
    });
  }

  /** Begins shutdown (SIGTERM, EOF, fatal error). Idempotent; resolves `done`. */
  stop(reason: ShutdownReason, exitCode = 0): Promise<number> {
    if (!this.stopping) {
      this.stopping = this.shutdown(reason, exitCode);
      void this.stopping.then((code) => this.resolveDone(code));
    }
    return this.stopping;
  }

  /** Called by the front door's owner when stdout fails (EPIPE): nothing more can be answered. */
  outputClosed(err: Error): void {
    this.outputBroken = true;
    this.options.logger.warn(`stdout closed (${err.message}); shutting down`);
    void this.stop("output-closed", 0);
  }

  private onData(chunk: Buffer): void {
    if (this.stopping) return;
    let requests: WorkRequestData[];
    try {
      requests = this.codec.push(chunk);
    } catch (err) {
      this.protocolFailure(err);
      return;
    }
    // All of the chunk's requests (and cancels) are registered before any starts, so a cancel for a
    // request in the same chunk finds it not yet started.
    const accepted: PendingRequest[] = [];
    for (const request of requests) {
      const pending = this.accept(request);
      if (pending) accepted.push(pending);
    }
    for (const pending of accepted) this.launch(pending);
    // A bad frame after good ones in the same chunk surfaces on the next push; probe for it now.
    if (requests.length > 0) {
      try {
        this.codec.push(NO_BYTES);
      } catch (err) {
        this.protocolFailure(err);
      }
    }
  }

  private onEnd(): void {
    if (this.stopping) return;
    try {
      this.codec.end();
    } catch (err) {
      this.protocolFailure(err);
      return;
    }
    void this.stop("eof", 0);
  }

  private protocolFailure(err: unknown): void {
    const detail = err instanceof ProtocolError ? err.message : String(err);
    this.options.logger.error(
      `unparseable ${this.options.format} WorkRequest on stdin: ${detail}. ` +
        `Check that the rule's requires-worker-protocol matches --protocol=${this.options.format}.`,
    );
    void this.stop("protocol-error", 1);
  }

  /** Registers a request so a cancel can find it; undefined for a cancel (handled here). */
  private accept(request: WorkRequestData): PendingRequest | undefined {
    if (request.cancel) {
      this.cancel(request.requestId);
      return undefined;
    }
    const pending = new PendingRequest(request);
    const line = this.lines.get(request.requestId);
    if (line) line.queue.push(pending);
    else this.lines.set(request.requestId, { queue: [pending], tail: undefined });
    return pending;
  }

  /** Runs a request now, or after the one before it with the same id. */
  private launch(pending: PendingRequest): void {
    const line = this.lines.get(pending.request.requestId)!;
    const previous = line.tail;
    line.tail = pending;
    pending.done = previous?.done ? previous.done.then(() => this.execute(pending)) : this.execute(pending);
  }

  private cancel(id: number): void {
    const target = this.lines.get(id)?.queue.find((p) => !p.answered && !p.cancelRequested);
    if (!target) {
      // Already answered (or never seen): Bazel expects no response.
      this.options.logger.debug("ignoring cancel for a request that is not running", { id });
      return;
    }
    target.cancelRequested = true;
    target.abort.abort(new Error("cancelled by Bazel"));
  }

  /** Answers one request; then lets the next request with its id run. */
  private async execute(pending: PendingRequest): Promise<void> {
    try {
      const { request } = pending;
      const { logger } = this.options;
      const sandbox = resolveSandboxDir(this.options.cwd, request.sandboxDir);
      const cwd = sandbox.ok ? sandbox.dir : this.options.cwd;
      const job = new BazelJob(pending, cwd, sandbox.ok ? undefined : sandbox.error);
      if (request.verbosity > 0) {
        logger.requested("request received", {
          id: request.requestId,
          args: request.arguments.length,
          inputs: request.inputs.length,
          cwd,
          verbosity: request.verbosity,
        });
      }
      // The switch is this request's alone: the dispatcher may abort it (timeout, shutdown) rather
      // than chain a second one per request.
      const result = await this.options.dispatcher.submit(job, pending.abort);
      let output = result.output;
      if (request.verbosity > 0) {
        const detail = `worker-bridge: request ${request.requestId}: exit ${result.exitCode} (${result.end}) in ${result.durationMs.toFixed(1)} ms on pid ${result.hostPid ?? "-"}`;
        output = output.length === 0 ? detail : `${output.replace(/\n$/, "")}\n${detail}`;
        logger.requested(detail);
      }
      this.respond(pending, { exitCode: result.exitCode, output, requestId: request.requestId });
    } finally {
      const id = pending.request.requestId;
      const line = this.lines.get(id);
      if (line?.tail === pending) line.tail = undefined;
      if (line && line.tail === undefined && line.queue.length === 0 && id !== 0) this.lines.delete(id);
    }
  }

  private respond(pending: PendingRequest, response: WorkResponseData): void {
    if (pending.answered) return; // unreachable by construction; kept as the invariant's guard
    pending.answered = true;
    const queue = this.lines.get(pending.request.requestId)?.queue;
    if (queue) {
      const i = queue.indexOf(pending);
      if (i >= 0) queue.splice(i, 1);
    }
    if (pending.cancelRequested) response.wasCancelled = true;
    if (this.outputBroken) return;
    this.outbox.push(this.codec.encode(response));
    // Responses completing together (multiplex) leave in one write: one syscall instead of one per
    // response, and each response is still whole and in completion order inside it. A tick, not a
    // microtask: it runs once the whole microtask queue has drained, so every response finished
    // by this batch of input joins the write, not only those finished before the first one.
    if (this.outbox.length === 1) process.nextTick(this.flushOutbox);
  }

  private readonly flushOutbox = (): void => this.flush();

  private flush(): void {
    const frames = this.outbox;
    if (frames.length === 0) return;
    if (this.outputBroken) {
      frames.length = 0;
      return;
    }
    const bytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    frames.length = 0;
    this.pendingWrites++;
    this.options.write(bytes, this.written);
  }

  private readonly written = (err?: Error | null): void => {
    this.pendingWrites--;
    if (err) this.outputClosed(err);
    if (this.pendingWrites === 0) this.writesDrained?.();
  };

  /** Every request accepted and not yet answered (a request leaves its queue as it is answered). */
  private inFlight(): PendingRequest[] {
    const all: PendingRequest[] = [];
    for (const line of this.lines.values()) all.push(...line.queue);
    return all;
  }

  private allAnswered(): Promise<unknown> {
    return Promise.allSettled(this.inFlight().map((p) => p.done));
  }

  private async shutdown(reason: ShutdownReason, exitCode: number): Promise<number> {
    const { logger, dispatcher, shutdownGraceMs } = this.options;
    this.options.input.pause();
    logger.debug("shutting down", { reason, inFlight: this.inFlight().length });
    const deadline = Date.now() + shutdownGraceMs;
    // On a protocol error the requests already accepted are valid: let them finish within the
    // grace. On EOF or a signal the client is going away: abort them now.
    if (reason === "protocol-error") await withTimeout(this.allAnswered(), shutdownGraceMs);
    const closed = dispatcher.close(0);
    await withTimeout(Promise.all([closed, this.allAnswered()]), Math.max(0, deadline - Date.now()));
    this.flush();
    if (this.pendingWrites > 0 && !this.outputBroken) {
      await withTimeout(new Promise<void>((r) => (this.writesDrained = r)), Math.max(100, deadline - Date.now()));
    }
    return exitCode;
  }
}

const NO_BYTES = new Uint8Array(0);

/** Bazel requests carry no environment of their own: every job shares this empty one. */
const NO_ENV: Readonly<Record<string, string>> = Object.freeze({});

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
