import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";
import { expandArgfiles, needsExpansion } from "./argfile.js";
import type { HostResult, Job, JobEnd, PreparedJob, Result, ToolHost } from "./job.js";
import { JobAbort } from "./job-abort.js";
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
  /** Set by close() once running jobs are aborted. */
  private shuttingDown = false;
  /**
   * Per running job, how to abort it for shutdown: not a listener per job on a signal, and an
   * array rather than a Set, whose table is reallocated each time its last entry goes.
   */
  private readonly onShutdown: ((reason: unknown) => void)[] = [];
  private readonly waiting: { grant(): void; refuse(): void }[] = [];
  /** Set by close(): nothing new starts, running jobs get the grace. */
  private closing = false;
  private running = 0;
  private readonly latencies = new LatencyRecorder();
  private readonly counts = { requests: 0, failures: 0, cancelled: 0, timedOut: 0, crashed: 0 };
  /** Jobs submitted and not yet answered, so close() can wait for them. */
  private unsettled = 0;
  private readonly drained: (() => void)[] = [];

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
   * `owner` is optional: the switch behind `job.signal`, handed over by a front door that never
   * reuses it — a `JobAbort` (then `job.signal` is not read here at all, so a job nobody aborts never
   * makes an AbortSignal) or the AbortController whose signal is `job.signal`. The dispatcher then
   * aborts that switch itself on timeout and shutdown instead of making a second one per job and
   * chaining the two: in Node 20 an AbortSignal and its listeners cost several µs on every request
   * (bench/README.md).
   */
  submit(job: Job, owner?: JobAbort | AbortController): Promise<Result> {
    this.unsettled++;
    let abort: JobAbort;
    let owned = true;
    if (owner instanceof JobAbort) abort = owner;
    else if (owner !== undefined && owner.signal === job.signal) abort = JobAbort.over(owner);
    else {
      abort = new JobAbort();
      owned = false;
    }
    return this.execute(job, abort, owned).then(
      (result) => this.settled(result),
      (err: unknown) => {
        try {
          // execute() handles every expected failure; this is the last line of defence.
          return this.finish(job, undefined, nowMs(), {
            exitCode: BRIDGE_FAILURE_EXIT_CODE,
            output: bridgeMessage(`internal error while running request ${job.id}: ${errorText(err)}`),
          }, "failed-to-start");
        } finally {
          this.settled(undefined);
        }
      },
    );
  }

  /** Counts an answer given; wakes close() once every submitted job is answered. */
  private settled<T>(result: T): T {
    if (--this.unsettled === 0 && this.drained.length > 0) for (const wake of this.drained.splice(0)) wake();
    return result;
  }

  /** Resolves once every job submitted so far has been answered. */
  private allAnswered(): Promise<void> {
    return this.unsettled === 0 ? Promise.resolve() : new Promise<void>((r) => this.drained.push(r));
  }

  /**
   * Stops taking new work: queued jobs are cancelled at once, running jobs get `graceMs` to finish
   * and are then aborted. Resolves when every submitted job has been answered.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const entry of [...this.waiting]) entry.refuse();
    if (this.unsettled > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.allAnswered(),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.shuttingDown = true;
    const reason = new Error("worker-bridge is shutting down");
    for (const abortHere of [...this.onShutdown]) abortHere(reason);
    await this.allAnswered();
  }

  /** Why a job never reached the host: the client's cancel, or our own shutdown. */
  private notStartedNote(job: Job, abort: JobAbort, when: string): string {
    return cancelledNote(job, when, this.closing && !abort.aborted);
  }

  /** Everything one job goes through, in one async function: each extra layer costs a promise. */
  private async execute(job: Job, abort: JobAbort, owned: boolean): Promise<Result> {
    const start = nowMs();
    this.counts.requests++;
    // Not owned: a private switch follows the client's signal (one listener on a signal that
    // exists already).
    let onCancel: (() => void) | undefined;
    if (!owned) {
      if (job.signal.aborted) abort.abort(job.signal.reason);
      else {
        onCancel = (): void => abort.abort(job.signal.reason);
        job.signal.addEventListener("abort", onCancel, { once: true });
      }
    }
    let slot = false;
    /** Set when the dispatcher (not the client) aborted the switch. */
    let abortedHere = false;
    const abortHere = (reason: unknown): void => {
      if (abort.aborted) return;
      abortedHere = true;
      abort.abort(reason);
    };
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (abort.aborted || this.closing) {
        return this.finish(job, undefined, start, { exitCode: 1, output: this.notStartedNote(job, abort, "before it started") }, "cancelled");
      }
      // A free slot is taken without awaiting: a resolved promise would still cost a tick per job.
      slot = this.tryAcquire() || (await this.acquire(abort));
      if (!slot) {
        return this.finish(job, undefined, start, { exitCode: 1, output: this.notStartedNote(job, abort, "while queued") }, "cancelled");
      }
      // The host's signal fires on the client's cancel, a timeout or shutdown: `abort` is the
      // job's own switch when owned, a private one following job.signal otherwise.
      this.onShutdown.push(abortHere);
      if (job.timeoutMs !== undefined && job.timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          abortHere(new Error(`timed out after ${formatSeconds(job.timeoutMs!)}`));
        }, job.timeoutMs);
      }
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
      const hostResult = await this.runOnHost(prepared, abort);
      const clientCancelled = owned ? abort.aborted && !abortedHere : job.signal.aborted;
      let end: JobEnd = "completed";
      if (hostResult.crashed) end = "crashed";
      if (timedOut) end = "timed-out";
      else if (clientCancelled) end = "cancelled";
      else if (this.shuttingDown && abort.aborted) end = "cancelled";
      let { exitCode, output } = hostResult;
      if (end === "timed-out") {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} timed out after ${formatSeconds(job.timeoutMs!)} and was aborted`);
      } else if (end === "cancelled" && this.shuttingDown && !clientCancelled) {
        if (exitCode === 0) exitCode = 1;
        output = appendLine(output, `worker-bridge: request ${job.id} was aborted because the worker is shutting down`);
      }
      return this.finish(job, prepared, start, { exitCode, output, hostPid: hostResult.hostPid }, end);
    } finally {
      clearTimeout(timer);
      removeSwapping(this.onShutdown, abortHere);
      if (onCancel) job.signal.removeEventListener("abort", onCancel);
      if (slot) this.release();
    }
  }

  /**
   * Runs the host with a backstop: once `abort` fires, the host gets `abortGraceMs` to settle
   * before the job is answered without it, so a host that ignores the abort cannot hang the
   * protocol. One promise and no race per job: this is on every request's path.
   */
  private runOnHost(prepared: PreparedJob, abort: JobAbort): Promise<HostResult> {
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
        resolve(result);
      };
      const failed = (err: unknown): void =>
        settle({ exitCode: BRIDGE_FAILURE_EXIT_CODE, output: bridgeMessage(`the tool host failed: ${errorText(err)}`), crashed: true });
      try {
        // A host that can take its signal on demand gets it so: a job nobody aborts then makes none.
        const running = this.host.runWithSignalOnDemand
          ? this.host.runWithSignalOnDemand(prepared, abort)
          : this.host.run(prepared, abort.signal);
        running.then(settle, failed);
      } catch (err) {
        failed(err); // a host that throws instead of rejecting
      }
      if (settled) return;
      if (abort.aborted) arm();
      else abort.onAbort(arm); // the switch is this job's alone: no need to remove it afterwards
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

  private acquire(abort: JobAbort): Promise<boolean> {
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      let stopListening: (() => void) | undefined;
      const entry = {
        grant: (): void => {
          stopListening?.();
          this.running++;
          resolve(true);
        },
        refuse: (): void => {
          stopListening?.();
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
        },
      };
      this.waiting.push(entry);
      stopListening = abort.onAbort(entry.refuse);
    });
  }

  private release(): void {
    this.running--;
    const next = this.waiting.shift()?.grant;
    if (next) next();
  }
}

/** Removes `item` from an unordered array in O(1) once found, without shifting the rest. */
function removeSwapping<T>(items: T[], item: T): void {
  const i = items.lastIndexOf(item);
  if (i < 0) return;
  const last = items.pop()!;
  if (i < items.length) items[i] = last;
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
