// The messages a tool process and its host exchange over the Node IPC channel. Kept flat and small:
// every byte here is paid on every request (see bench/host-overhead.ts).
import type { JobOrigin } from "../core/job.js";

/** A job as sent to a tool process. `env` is only what differs from the env the child started with. */
export interface WireJob {
  /** Host-assigned sequence number: unique per tool process, unlike protocol ids. */
  readonly seq: number;
  readonly id: number;
  readonly origin: JobOrigin;
  readonly args: readonly string[];
  /** Input paths and digests, digests base64 (JSON serialization cannot carry bytes). */
  readonly inputs?: readonly (readonly [path: string, digestBase64: string])[];
  readonly cwd: string;
  /** Entries to set on top of the child's start env; omitted when identical. */
  readonly envSet?: Readonly<Record<string, string>>;
  /** Start-env names the job's env does not have. */
  readonly envUnset?: readonly string[];
  readonly timeoutMs?: number;
  readonly verbosity: number;
}

export type ToHostMessage =
  /** A job's answer, with the child's RSS after it when asked (for --max-tool-memory-mb), else -1. */
  | { readonly t: "done"; readonly seq: number; readonly exitCode: number; readonly output: string; readonly rss: number }
  /** The tool is loaded and initialised (once per process): aborts' grace periods count from here. */
  | { readonly t: "ready" }
  /** Sent last before a clean exit (recycling, shutdown). */
  | { readonly t: "retired" }
  /** `init` threw or the tool module did not load; the child exits right after. */
  | { readonly t: "init-failed"; readonly message: string };

export type ToToolMessage =
  | ({ readonly t: "run" } & WireJob)
  | { readonly t: "abort"; readonly seq: number; readonly reason: string }
  /** Finish nothing more, dispose the tool and exit 0 (recycling and shutdown). */
  | { readonly t: "retire" };

/** What the child needs to start, passed in its environment so argv stays the tool's business. */
export interface ToolProcessConfig {
  readonly toolModule: string;
  readonly startupArgs: readonly string[];
  /** Measure RSS after each job (reading it costs ~15 µs, so only when a memory budget is set). */
  readonly reportRss: boolean;
}

export const TOOL_PROCESS_CONFIG_ENV = "WORKER_BRIDGE_TOOL_PROCESS_CONFIG";
