import type { ToolInput } from "../tool-api/define-tool.js";

/** Which front door a job came through; for logs and records only. */
export type JobOrigin = "bazel" | "buck2" | "oneshot" | "daemon" | "replay";

/**
 * A request in neutral form. Front doors build it from their wire format; the dispatcher and the
 * hosts never see protocol types.
 */
export interface Job {
  /** Protocol request id (Bazel request_id, Buck2 stream id); 0 for singleplex and one-shot. */
  readonly id: number;
  readonly origin: JobOrigin;
  /** Arguments as received: `@argfile`s not yet expanded (the dispatcher expands them). */
  readonly args: readonly string[];
  readonly inputs: readonly ToolInput[];
  /** Absolute directory relative paths resolve against (sandbox_dir already applied). */
  readonly cwd: string;
  /** Only the request's own entries (Buck2 sends some); overlaid on the bridge env per job. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Fires when the client cancels (Bazel cancel, gRPC call cancelled, Exec cancel event). */
  readonly signal: AbortSignal;
  readonly verbosity: number;
  /**
   * Set by a front door that cannot turn a request into a runnable job (a sandbox_dir escaping the
   * execroot): the dispatcher answers it as failed-to-start with this reason, like a bad argfile,
   * so it is logged, counted and recorded like any other bad request.
   */
  readonly refused?: string;
}

/** Why a job did not finish normally. */
export type JobEnd = "completed" | "cancelled" | "timed-out" | "failed-to-start" | "crashed";

export interface Result {
  exitCode: number;
  /** Tool output plus anything the job printed, always a well-formed string. */
  output: string;
  end: JobEnd;
  durationMs: number;
  /** Pid of the process that ran the job (the bridge itself for the inline host). */
  hostPid?: number;
}

/** A job with its argfiles expanded and its env resolved, as hosts receive it. */
export interface PreparedJob {
  readonly id: number;
  readonly origin: JobOrigin;
  readonly args: readonly string[];
  readonly inputs: readonly ToolInput[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly verbosity: number;
}

/** What a host returns for a job; the dispatcher adds timing and the end reason. */
export interface HostResult {
  exitCode: number;
  output: string;
  hostPid?: number;
  /** Set when the host process died or was killed while running the job. */
  crashed?: boolean;
}

/** Counters a host may report for the exit summary; absent ones are simply not logged. */
export interface HostStats {
  /** Tool processes started (process hosts). */
  readonly processesStarted?: number;
  /** Unexpected tool process deaths. */
  readonly crashes?: number;
  /** Tool processes retired over their request or memory budget. */
  readonly recycles?: number;
  /** Tool processes killed because an aborted job overstayed its grace. */
  readonly hardKills?: number;
}

/**
 * A job's abort state as a host sees it (src/core/job-abort.ts implements it): `signal` is made on
 * first read, `onAbort` is a plain listener, called once, never for a switch already aborted.
 */
export interface AbortSwitch {
  readonly aborted: boolean;
  readonly reason: unknown;
  readonly signal: AbortSignal;
  /** Returns a function that removes the listener. */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** Runs prepared jobs. Implemented by the supervisor (inline or in tool processes). */
export interface ToolHost {
  /**
   * Runs one job. Must settle soon after `signal` aborts (a host that cannot stop the tool kills
   * it). Must not reject for tool failures: those are exit codes.
   */
  run(job: PreparedJob, signal: AbortSignal): Promise<HostResult>;
  /**
   * Optional, and preferred by the dispatcher when present: `run` with the signal made on demand.
   * `abort.signal` makes the job's AbortSignal on first read; a host that reads it only when the
   * tool looks at its signal, and otherwise follows the job through `aborted` and `onAbort`,
   * spares a job nobody aborts the several µs an AbortSignal costs in Node 20 (bench/README.md).
   */
  runWithSignalOnDemand?(job: PreparedJob, abort: AbortSwitch): Promise<HostResult>;
  /** How many jobs this host can usefully run at once. */
  readonly capacity: number;
  /**
   * The longest this host may take, after a job's signal aborts, to settle that job by itself
   * (its own hard-cancel bound). Whoever backstops the host must wait longer than this; see
   * `src/runtime/abort-timers.ts`. Absent means the host settles at once.
   */
  readonly abortAllowanceMs?: number;
  /** Counters for the exit summary, when the host keeps any. */
  stats?(): HostStats;
  close(): Promise<void>;
}
