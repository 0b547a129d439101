// Both halves of the tool-process IPC: the messages a tool process and its host exchange over the
// Node IPC channel, and the job encoding each side applies. Kept flat and small:
// every byte here is paid on every request (see bench/host-overhead.ts).
import type { JobOrigin, PreparedJob } from "../core/job.js";
import type { ToolInput } from "../tool-api/define-tool.js";

/** A job as sent to a tool process. `env` is only what differs from the env the child started with. */
export interface IpcJob {
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
  | ({ readonly t: "run" } & IpcJob)
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

/** Host side: a job as sent, its env reduced to the difference from the child's start env (`base`). */
export function encodeJob(seq: number, job: PreparedJob, base: Readonly<Record<string, string>>, baseSize: number): IpcJob {
  let envSet: Record<string, string> | undefined;
  let envUnset: string[] | undefined;
  const env = job.env;
  let count = 0;
  for (const name in env) {
    count++;
    const value = env[name]!;
    if (base[name] !== value) (envSet ??= {})[name] = value;
  }
  // Same size and nothing new means the same names: the usual case skips the second pass.
  if (envSet !== undefined || count !== baseSize) {
    for (const name in base) if (!Object.hasOwn(env, name)) (envUnset ??= []).push(name);
  }
  return {
    seq,
    id: job.id,
    origin: job.origin,
    args: job.args,
    ...(job.inputs.length > 0
      ? { inputs: job.inputs.map((i) => [i.path, Buffer.from(i.digest.buffer, i.digest.byteOffset, i.digest.byteLength).toString("base64")] as const) }
      : {}),
    cwd: job.cwd,
    ...(envSet ? { envSet } : {}),
    ...(envUnset ? { envUnset } : {}),
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    verbosity: job.verbosity,
  };
}

/** Tool-process side: the job back in the form hosts run, its env rebuilt on `startEnv`. */
export function decodeJob(job: IpcJob, startEnv: Readonly<Record<string, string>>): PreparedJob {
  let env: Record<string, string> = { ...startEnv };
  if (job.envSet) Object.assign(env, job.envSet);
  if (job.envUnset) for (const name of job.envUnset) delete env[name];
  const inputs: ToolInput[] = job.inputs
    ? job.inputs.map(([path, digest]) => ({ path, digest: Buffer.from(digest, "base64") }))
    : [];
  return {
    id: job.id,
    origin: job.origin,
    args: job.args,
    inputs,
    cwd: job.cwd,
    env,
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    verbosity: job.verbosity,
  };
}
