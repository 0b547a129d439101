// Both halves of the tool-process IPC: the messages a tool process and its host exchange over the
// tool process's fd 3 (src/supervisor/frame-channel.ts), and their binary encoding. Kept flat and
// small: every byte here is paid on every request (see bench/host-overhead.ts).
import type { JobOrigin, PreparedJob } from "../core/job.js";
import type { ToolInput } from "../tool-api/define-tool.js";
import { FrameReader, FrameWriter } from "./binary-message.js";

/** A job as the tool process receives it. `env` is only what differs from the env the child started with. */
export interface IpcJob {
  /** Host-assigned sequence number: unique per tool process, unlike protocol ids. */
  readonly seq: number;
  readonly id: number;
  readonly origin: JobOrigin;
  readonly args: readonly string[];
  readonly inputs: readonly ToolInput[];
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

/** The child's end of the channel: the fourth stdio entry of the fork. */
export const TOOL_PROCESS_CHANNEL_FD = 3;

// Message type bytes, one space per direction.
const RUN = 1;
const ABORT = 2;
const RETIRE = 3;
const DONE = 1;
const READY = 2;
const RETIRED = 3;
const INIT_FAILED = 4;
const ORIGINS: readonly JobOrigin[] = ["bazel", "buck2", "oneshot", "daemon", "replay"];
/** Stands for an absent optional number. */
const ABSENT = Number.NaN;

/** What a process knows of its tool process's start env, to send each job's env as a difference. */
export class EnvBase {
  readonly size: number;
  /** A frozen env found identical to the base: the dispatcher hands the same one to most jobs. */
  private sameAsBase: object | undefined;

  constructor(readonly env: Readonly<Record<string, string>>) {
    this.size = Object.keys(env).length;
  }

  /** Names and values to set, names to unset; both undefined when `env` equals the base. */
  diff(env: Readonly<Record<string, string>>): { set: string[] | undefined; unset: string[] | undefined } {
    if (env === this.sameAsBase) return { set: undefined, unset: undefined };
    const base = this.env;
    let set: string[] | undefined;
    let unset: string[] | undefined;
    let count = 0;
    for (const name in env) {
      count++;
      const value = env[name]!;
      if (base[name] !== value) (set ??= []).push(name, value);
    }
    // Same size and nothing new means the same names: the usual case skips the second pass.
    if (set !== undefined || count !== this.size) {
      for (const name in base) if (!Object.hasOwn(env, name)) (unset ??= []).push(name);
    }
    if (set === undefined && unset === undefined && Object.isFrozen(env)) this.sameAsBase = env;
    return { set, unset };
  }
}

/** Host side: a run frame, the job's env reduced to the difference from the child's start env. */
export function encodeRun(seq: number, job: PreparedJob, base: EnvBase): Buffer {
  const { set: envSet, unset: envUnset } = base.diff(job.env);
  const w = new FrameWriter();
  w.u8(RUN).u32(seq).f64(job.id).u8(ORIGINS.indexOf(job.origin)).string(job.cwd).f64(job.timeoutMs ?? ABSENT).f64(job.verbosity);
  w.u32(job.args.length);
  for (const arg of job.args) w.string(arg);
  w.u32(job.inputs.length);
  for (const input of job.inputs) w.string(input.path).bytes(input.digest);
  w.u32(envSet ? envSet.length : 0);
  if (envSet) for (const s of envSet) w.string(s);
  w.u32(envUnset ? envUnset.length : 0);
  if (envUnset) for (const s of envUnset) w.string(s);
  return w.finish();
}

/** Host side, for a worker that takes messages as objects (a tool thread): the run message encodeRun would encode. */
export function toRunMessage(seq: number, job: PreparedJob, base: EnvBase): ToToolMessage {
  const { set, unset } = base.diff(job.env);
  let envSet: Record<string, string> | undefined;
  if (set) {
    envSet = {};
    for (let i = 0; i < set.length; i += 2) envSet[set[i]!] = set[i + 1]!;
  }
  return {
    t: "run",
    seq,
    id: job.id,
    origin: job.origin,
    args: job.args,
    inputs: job.inputs,
    cwd: job.cwd,
    ...(envSet ? { envSet } : {}),
    ...(unset ? { envUnset: unset } : {}),
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    verbosity: job.verbosity,
  };
}

export function encodeAbort(seq: number, reason: string): Buffer {
  return new FrameWriter().u8(ABORT).u32(seq).string(reason).finish();
}

export function encodeRetire(): Buffer {
  return new FrameWriter(8).u8(RETIRE).finish();
}

/** Tool-process side; throws RangeError on a truncated or unknown frame. */
export function decodeToTool(frame: Buffer): ToToolMessage {
  const r = new FrameReader(frame);
  const type = r.u8();
  if (type === RETIRE) return { t: "retire" };
  if (type === ABORT) return { t: "abort", seq: r.u32(), reason: r.string() };
  if (type !== RUN) throw new RangeError(`unknown message type ${type} from the bridge`);
  const seq = r.u32();
  const id = r.f64();
  const origin = ORIGINS[r.u8()];
  if (origin === undefined) throw new RangeError("unknown job origin from the bridge");
  const cwd = r.string();
  const timeoutMs = r.f64();
  const verbosity = r.f64();
  const args: string[] = [];
  for (let n = r.u32(); n > 0; n--) args.push(r.string());
  const inputs: ToolInput[] = [];
  for (let n = r.u32(); n > 0; n--) inputs.push({ path: r.string(), digest: r.bytes() });
  let envSet: Record<string, string> | undefined;
  for (let n = r.u32(); n > 0; n -= 2) (envSet ??= {})[r.string()] = r.string();
  let envUnset: string[] | undefined;
  for (let n = r.u32(); n > 0; n--) (envUnset ??= []).push(r.string());
  return {
    t: "run",
    seq,
    id,
    origin,
    args,
    inputs,
    cwd,
    ...(envSet ? { envSet } : {}),
    ...(envUnset ? { envUnset } : {}),
    ...(Number.isNaN(timeoutMs) ? {} : { timeoutMs }),
    verbosity,
  };
}

/**
 * Tool-process side: the job back in the form hosts run, its env rebuilt on `startEnv`. A job whose
 * env is the start env gets `startEnv` itself, which must be frozen: the dispatcher shares one
 * frozen env between such jobs in the inline host too, and copying ~50 entries per job was the
 * largest allocation of a no-op request in the tool process.
 */
export function decodeJob(job: IpcJob, startEnv: Readonly<Record<string, string>>): PreparedJob {
  let env: Readonly<Record<string, string>> = startEnv;
  if (job.envSet || job.envUnset) {
    const copy: Record<string, string> = { ...startEnv };
    if (job.envSet) Object.assign(copy, job.envSet);
    if (job.envUnset) for (const name of job.envUnset) delete copy[name];
    env = copy;
  }
  return {
    id: job.id,
    origin: job.origin,
    args: job.args,
    inputs: job.inputs,
    cwd: job.cwd,
    env,
    ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    verbosity: job.verbosity,
  };
}

export function encodeToHost(message: ToHostMessage): Buffer {
  switch (message.t) {
    case "done":
      return new FrameWriter().u8(DONE).u32(message.seq).f64(message.exitCode).f64(message.rss).string(message.output).finish();
    case "ready":
      return new FrameWriter(8).u8(READY).finish();
    case "retired":
      return new FrameWriter(8).u8(RETIRED).finish();
    case "init-failed":
      return new FrameWriter().u8(INIT_FAILED).string(message.message).finish();
  }
}

/** Host side; throws RangeError on a truncated or unknown frame. */
export function decodeToHost(frame: Buffer): ToHostMessage {
  const r = new FrameReader(frame);
  const type = r.u8();
  switch (type) {
    case DONE:
      return { t: "done", seq: r.u32(), exitCode: r.f64(), rss: r.f64(), output: r.string() };
    case READY:
      return { t: "ready" };
    case RETIRED:
      return { t: "retired" };
    case INIT_FAILED:
      return { t: "init-failed", message: r.string() };
    default:
      throw new RangeError(`unknown message type ${type} from the tool process`);
  }
}
