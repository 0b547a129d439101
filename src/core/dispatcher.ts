import { ArgfileError, expandArgfiles, needsExpansion } from "../protocol/argfile.js";
import type { HostResult, Job, JobEnd, PreparedJob, Result, ToolHost } from "./job.js";
import { LatencyRecorder } from "./latency.js";
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
  inFlight: number;
  queued: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

/** The exit code a job gets when the bridge itself could not run it (bad argfile, host error). */
export const BRIDGE_FAILURE_EXIT_CODE = 2;

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
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private readonly latencies = new LatencyRecorder();
  private readonly counts = { requests: 0, failures: 0, cancelled: 0, timedOut: 0, crashed: 0 };
  private readonly settled = new Set<Promise<Result>>();

  constructor(
    private readonly host: ToolHost,
    options: DispatcherOptions,
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency));
    this.logger = options.logger;
    this.baseEnv = options.baseEnv ?? (process.env as Record<string, string>);
    this.abortGraceMs = options.abortGraceMs ?? 5_000;
    this.observer = options.observer;
  }

  get inFlight(): number {
    return this.running + this.waiting.length;
  }

  stats(): DispatcherStats {
    return {
      ...this.counts,
      inFlight: this.running,
      queued: this.waiting.length,
      p50Ms: this.latencies.percentile(50),
      p99Ms: this.latencies.percentile(99),
    };
  }

  /** Runs a job; resolves exactly once, never rejects. */
  submit(job: Job): Promise<Result> {
    const promise = this.execute(job).catch((err: unknown) =>
      // execute() handles every expected failure; this is the last line of defence.
      this.finish(job, undefined, performance.now(), {
        exitCode: BRIDGE_FAILURE_EXIT_CODE,
        output: `worker-bridge: internal error while running request ${job.id}: ${describe(err)}`,
      }, "failed-to-start"),
    );
    this.settled.add(promise);
    void promise.finally(() => this.settled.delete(promise));
    return promise;
  }

  /**
   * Stops taking new work: queued jobs are cancelled at once, running jobs get `graceMs` to finish
   * and are then aborted. Resolves when every submitted job has been answered.
   */
  async close(graceMs: number): Promise<void> {
    if (this.settled.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.settled]),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.shutdown.abort(new Error("worker-bridge is shutting down"));
    await Promise.allSettled([...this.settled]);
  }

  private async execute(job: Job): Promise<Result> {
    const start = performance.now();
    this.counts.requests++;
    if (job.signal.aborted || this.shutdown.signal.aborted) {
      return this.finish(job, undefined, start, { exitCode: 1, output: cancelledNote(job, "before it started") }, "cancelled");
    }
    const gotSlot = await this.acquire(job.signal);
    if (!gotSlot) {
      return this.finish(job, undefined, start, { exitCode: 1, output: cancelledNote(job, "while queued") }, "cancelled");
    }
    try {
      return await this.runWithSlot(job, start);
    } finally {
      this.release();
    }
  }

  private async runWithSlot(job: Job, start: number): Promise<Result> {
    const abort = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const onCancel = (): void => abort.abort(job.signal.reason);
    const onShutdown = (): void => abort.abort(this.shutdown.signal.reason);
    job.signal.addEventListener("abort", onCancel, { once: true });
    this.shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        abort.abort(new Error(`timed out after ${formatSeconds(job.timeoutMs!)}`));
      }, job.timeoutMs);
    }
    try {
      let prepared: PreparedJob;
      try {
        prepared = await this.prepare(job);
      } catch (err) {
        const message = err instanceof ArgfileError ? `worker-bridge: ${err.message}` : `worker-bridge: ${describe(err)}`;
        return this.finish(job, undefined, start, { exitCode: BRIDGE_FAILURE_EXIT_CODE, output: message }, "failed-to-start");
      }
      this.observer?.jobPrepared?.(job, prepared);
      const hostResult = await this.runOnHost(prepared, abort.signal);
      let end: JobEnd = "completed";
      if (hostResult.crashed) end = "crashed";
      if (timedOut) end = "timed-out";
      else if (job.signal.aborted) end = "cancelled";
      else if (this.shutdown.signal.aborted && abort.signal.aborted) end = "cancelled";
      let { exitCode, output } = hostResult;
      if (end === "timed-out") {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} timed out after ${formatSeconds(job.timeoutMs!)} and was aborted`);
      } else if (end === "cancelled" && this.shutdown.signal.aborted && !job.signal.aborted) {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} was aborted because the worker is shutting down`);
      }
      return this.finish(job, prepared, start, { exitCode, output, hostPid: hostResult.hostPid }, end);
    } finally {
      clearTimeout(timer);
      job.signal.removeEventListener("abort", onCancel);
      this.shutdown.signal.removeEventListener("abort", onShutdown);
    }
  }

  /** Races the host against the abort grace, so a host that ignores the abort cannot hang the protocol. */
  private async runOnHost(prepared: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    const hostRun = this.host.run(prepared, signal).catch(
      (err: unknown): HostResult => ({
        exitCode: BRIDGE_FAILURE_EXIT_CODE,
        output: `worker-bridge: the tool host failed: ${describe(err)}`,
        crashed: true,
      }),
    );
    let graceTimer: NodeJS.Timeout | undefined;
    const backstop = new Promise<HostResult>((resolve) => {
      const arm = (): void => {
        graceTimer = setTimeout(() => {
          resolve({
            exitCode: 1,
            output: `worker-bridge: the tool did not stop within ${this.abortGraceMs} ms of being aborted; answering without it`,
          });
        }, this.abortGraceMs);
      };
      if (signal.aborted) arm();
      else signal.addEventListener("abort", arm, { once: true });
    });
    try {
      return await Promise.race([hostRun, backstop]);
    } finally {
      clearTimeout(graceTimer);
    }
  }

  private async prepare(job: Job): Promise<PreparedJob> {
    const args = needsExpansion(job.args) ? await expandArgfiles(job.args, { cwd: job.cwd }) : [...job.args];
    const env: Record<string, string> = { ...this.baseEnv };
    for (const [k, v] of Object.entries(job.env)) env[k] = v;
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
    const durationMs = performance.now() - start;
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

  private acquire(signal: AbortSignal): Promise<boolean> {
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener("abort", onAbort);
        this.shutdown.signal.removeEventListener("abort", onAbort);
        this.running++;
        resolve(true);
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
      this.shutdown.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift();
    if (next) next();
  }
}

function cancelledNote(job: Job, when: string): string {
  return `worker-bridge: request ${job.id} was cancelled ${when}`;
}

function appendLine(output: string, line: string): string {
  if (output.length === 0) return line;
  return output.endsWith("\n") ? output + line : `${output}\n${line}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
