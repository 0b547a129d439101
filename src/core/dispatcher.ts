import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";
import { expandArgfiles, needsExpansion } from "./argfile.js";
import type { HostResult, Job, JobEnd, PreparedJob, Result, ToolHost } from "./job.js";
import { LatencyRecorder, nowMs } from "./latency.js";
import type { Logger } from "./logger.js";

export interface DispatcherObserver {
  /** Called once per job that reached the host, with the expanded form. */
  jobPrepared?(job: Job, prepared: PreparedJob): void;
  /** Called exactly once per submitted job. */
  jobFinished?(job: Job, prepared: PreparedJob | undefined, result: Result): void;
}

export interface DispatcherOptions {
  /** Jobs running at once; the rest wait in arrival order. */
  concurrency: number;
  logger: Logger;
  /** The environment every job starts from; a request's own entries are overlaid per job. */
  baseEnv?: Readonly<Record<string, string>>;
  /**
   * After a job is aborted, how long to wait for the host before answering anyway. Hosts normally
   * stop the tool themselves; this is the backstop that keeps the protocol answering.
   */
  abortGraceMs?: number;
  observer?: DispatcherObserver;
}

export interface DispatcherStats {
  requests: number;
  failures: number;
  cancelled: number;
  timedOut: number;
  crashed: number;
  /** Jobs holding a slot now. */
  running: number;
  /** Jobs waiting for a slot. */
  queued: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

/** The exit code a job gets when the bridge itself could not run it (bad argfile, host error). */
export const BRIDGE_FAILURE_EXIT_CODE = EXIT_CODES.bridgeFailure;

/**
 * The one place that guarantees exactly one Result per submitted job: it queues, limits
 * concurrency, expands argfiles, enforces timeouts and cancellation, and never rejects.
 */
export class Dispatcher {
  private readonly concurrency: number;
  private readonly logger: Logger;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly abortGraceMs: number;
  private readonly observer: DispatcherObserver | undefined;
  private readonly shutdown = new AbortController();
  private readonly waiting: { grant(): void; refuse(): void }[] = [];
  /** Set by close(): nothing new starts, running jobs get the grace. */
  private closing = false;
  private running = 0;
  private readonly latencies = new LatencyRecorder();
  private readonly counts = { requests: 0, failures: 0, cancelled: 0, timedOut: 0, crashed: 0 };
  /** The answers not yet given, so close() can wait for them. */
  private readonly unsettled = new Set<Promise<Result>>();

  constructor(
    private readonly host: ToolHost,
    options: DispatcherOptions,
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency));
    this.logger = options.logger;
    // Snapshot once: reading process.env copies every entry out of the C++ environment, which cost
    // more than the rest of the dispatcher per job (bench/README.md). Jobs see the env the bridge
    // started with, as in the process host.
    this.baseEnv = Object.freeze({ ...(options.baseEnv ?? (process.env as Record<string, string>)) });
    this.abortGraceMs = options.abortGraceMs ?? 5_000;
    this.observer = options.observer;
  }

  /** Jobs submitted and not yet answered that hold or wait for a slot: running plus queued. */
  get pending(): number {
    return this.running + this.waiting.length;
  }

  stats(): DispatcherStats {
    return {
      ...this.counts,
      running: this.running,
      queued: this.waiting.length,
      p50Ms: this.latencies.percentile(50),
      p99Ms: this.latencies.percentile(99),
    };
  }

  /**
   * Runs a job; resolves exactly once, never rejects.
   *
   * `owner` is optional: the AbortController behind `job.signal`, handed over by a front door that
   * never reuses it. The dispatcher then aborts that controller itself on timeout and shutdown
   * instead of creating a second controller per job and chaining the two — one AbortController
   * costs several µs in Node 20, on every request (bench/README.md).
   */
  submit(job: Job, owner?: AbortController): Promise<Result> {
    const promise = this.execute(job, owner?.signal === job.signal ? owner : undefined).catch((err: unknown) =>
      // execute() handles every expected failure; this is the last line of defence.
      this.finish(job, undefined, nowMs(), {
        exitCode: BRIDGE_FAILURE_EXIT_CODE,
        output: bridgeMessage(`internal error while running request ${job.id}: ${errorText(err)}`),
      }, "failed-to-start"),
    );
    this.unsettled.add(promise);
    void promise.finally(() => this.unsettled.delete(promise));
    return promise;
  }

  /**
   * Stops taking new work: queued jobs are cancelled at once, running jobs get `graceMs` to finish
   * and are then aborted. Resolves when every submitted job has been answered.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const entry of [...this.waiting]) entry.refuse();
    if (this.unsettled.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.unsettled]),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.shutdown.abort(new Error("worker-bridge is shutting down"));
    await Promise.allSettled([...this.unsettled]);
  }

  /** Why a job never reached the host: the client's cancel, or our own shutdown. */
  private notStartedNote(job: Job, when: string): string {
    return cancelledNote(job, when, this.closing && !job.signal.aborted);
  }

  private async execute(job: Job, owner: AbortController | undefined): Promise<Result> {
    const start = nowMs();
    this.counts.requests++;
    if (job.signal.aborted || this.closing) {
      return this.finish(job, undefined, start, { exitCode: 1, output: this.notStartedNote(job, "before it started") }, "cancelled");
    }
    // A free slot is taken without awaiting: a resolved promise would still cost a tick per job.
    if (!this.tryAcquire() && !(await this.acquire(job.signal))) {
      return this.finish(job, undefined, start, { exitCode: 1, output: this.notStartedNote(job, "while queued") }, "cancelled");
    }
    try {
      return await this.runWithSlot(job, start, owner);
    } finally {
      this.release();
    }
  }

  private async runWithSlot(job: Job, start: number, owner: AbortController | undefined): Promise<Result> {
    // The host's signal fires on the client's cancel, a timeout or shutdown. With an owned
    // controller job.signal is that signal; otherwise a private controller follows job.signal.
    const abort = owner ?? new AbortController();
    /** Set when the dispatcher (not the client) aborted an owned controller. */
    let abortedHere = false;
    const abortHere = (reason: unknown): void => {
      if (abort.signal.aborted) return;
      abortedHere = true;
      abort.abort(reason);
    };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const onCancel = owner ? undefined : (): void => abort.abort(job.signal.reason);
    const onShutdown = (): void => abortHere(this.shutdown.signal.reason);
    if (onCancel) job.signal.addEventListener("abort", onCancel, { once: true });
    this.shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        abortHere(new Error(`timed out after ${formatSeconds(job.timeoutMs!)}`));
      }, job.timeoutMs);
    }
    try {
      if (job.refused !== undefined) {
        return this.finish(job, undefined, start, { exitCode: BRIDGE_FAILURE_EXIT_CODE, output: bridgeMessage(job.refused) }, "failed-to-start");
      }
      let prepared: PreparedJob;
      try {
        // Most requests carry no argfile: prepare those synchronously, without an await.
        prepared = needsExpansion(job.args)
          ? this.prepared(job, await expandArgfiles(job.args, { cwd: job.cwd }))
          : this.prepared(job, [...job.args]);
      } catch (err) {
        return this.finish(job, undefined, start, { exitCode: BRIDGE_FAILURE_EXIT_CODE, output: bridgeMessage(errorText(err)) }, "failed-to-start");
      }
      this.observer?.jobPrepared?.(job, prepared);
      const hostResult = await this.runOnHost(prepared, abort.signal);
      const clientCancelled = job.signal.aborted && !(owner && abortedHere);
      let end: JobEnd = "completed";
      if (hostResult.crashed) end = "crashed";
      if (timedOut) end = "timed-out";
      else if (clientCancelled) end = "cancelled";
      else if (this.shutdown.signal.aborted && abort.signal.aborted) end = "cancelled";
      let { exitCode, output } = hostResult;
      if (end === "timed-out") {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} timed out after ${formatSeconds(job.timeoutMs!)} and was aborted`);
      } else if (end === "cancelled" && this.shutdown.signal.aborted && !clientCancelled) {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} was aborted because the worker is shutting down`);
      }
      return this.finish(job, prepared, start, { exitCode, output, hostPid: hostResult.hostPid }, end);
    } finally {
      clearTimeout(timer);
      if (onCancel) job.signal.removeEventListener("abort", onCancel);
      this.shutdown.signal.removeEventListener("abort", onShutdown);
    }
  }

  /**
   * Runs the host with a backstop: once `signal` aborts, the host gets `abortGraceMs` to settle
   * before the job is answered without it, so a host that ignores the abort cannot hang the
   * protocol. One promise and no race per job: this is on every request's path.
   */
  private runOnHost(prepared: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    return new Promise<HostResult>((resolve) => {
      let graceTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const arm = (): void => {
        if (settled) return;
        graceTimer = setTimeout(() => {
          resolve({
            exitCode: 1,
            output: `worker-bridge: the tool did not stop within ${this.abortGraceMs} ms of being aborted; answering without it`,
          });
        }, this.abortGraceMs);
      };
      const settle = (result: HostResult): void => {
        settled = true;
        clearTimeout(graceTimer);
        signal.removeEventListener("abort", arm);
        resolve(result);
      };
      const failed = (err: unknown): void =>
        settle({ exitCode: BRIDGE_FAILURE_EXIT_CODE, output: bridgeMessage(`the tool host failed: ${errorText(err)}`), crashed: true });
      try {
        this.host.run(prepared, signal).then(settle, failed);
      } catch (err) {
        failed(err); // a host that throws instead of rejecting
      }
      if (settled) return;
      if (signal.aborted) arm();
      else signal.addEventListener("abort", arm, { once: true });
    });
  }

  private prepared(job: Job, args: string[]): PreparedJob {
    // Without per-request entries (Bazel) every job shares the frozen snapshot: no copy per job.
    let env: Readonly<Record<string, string>> = this.baseEnv;
    for (const k in job.env) {
      env = { ...this.baseEnv, ...job.env };
      break;
    }
    return {
      id: job.id,
      origin: job.origin,
      args,
      inputs: job.inputs,
      cwd: job.cwd,
      env,
      ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
      verbosity: job.verbosity,
    };
  }

  private finish(
    job: Job,
    prepared: PreparedJob | undefined,
    start: number,
    partial: { exitCode: number; output: string; hostPid?: number | undefined },
    end: JobEnd,
  ): Result {
    const durationMs = nowMs() - start;
    const result: Result = {
      exitCode: partial.exitCode,
      output: partial.output.toWellFormed(),
      end,
      durationMs,
      ...(partial.hostPid !== undefined ? { hostPid: partial.hostPid } : {}),
    };
    this.latencies.add(durationMs);
    if (result.exitCode !== 0) this.counts.failures++;
    if (end === "cancelled") this.counts.cancelled++;
    if (end === "timed-out") this.counts.timedOut++;
    if (end === "crashed") this.counts.crashed++;
    if (this.logger.enabled("info")) {
      this.logger.info("request", {
        origin: job.origin,
        id: job.id,
        exit: result.exitCode,
        end,
        ms: Math.round(durationMs * 1000) / 1000,
        pid: result.hostPid,
      });
    }
    this.observer?.jobFinished?.(job, prepared, result);
    return result;
  }

  private tryAcquire(): boolean {
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return true;
    }
    return false;
  }

  private acquire(signal: AbortSignal): Promise<boolean> {
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const entry = {
        grant: (): void => {
          signal.removeEventListener("abort", entry.refuse);
          this.running++;
          resolve(true);
        },
        refuse: (): void => {
          signal.removeEventListener("abort", entry.refuse);
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
        },
      };
      this.waiting.push(entry);
      signal.addEventListener("abort", entry.refuse, { once: true });
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift()?.grant;
    if (next) next();
  }
}

function cancelledNote(job: Job, when: string, shuttingDown: boolean): string {
  if (shuttingDown) return `worker-bridge: request ${job.id} was not run: the worker is shutting down`;
  return `worker-bridge: request ${job.id} was cancelled ${when}`;
}

function appendLine(output: string, line: string): string {
  if (output.length === 0) return line;
  return output.endsWith("\n") ? output + line : `${output}\n${line}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
