// `worker-bridge --tool tsc`: a warm TypeScript compiler that answers exactly like a cold `tsc`.
// Module map: resolve-typescript (which compiler), command-line (tsc CLI semantics), file-view
// (declared inputs only), compiler-host (parsed-file reuse and probe log), compile (builder and
// diagnostics), outputs (always write everything), program-cache (LRU under a heap budget),
// verify (staleness guard), process-runner (cold compiler processes), native/ (TypeScript 7 kept
// warm through tsgo's own incremental state in a persistent state directory).
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { getHeapStatistics } from "node:v8";
import { writeStderr } from "../../supervisor/output-capture.js";
import { defineTool, type ToolJob, type ToolResult } from "../../tool-api/define-tool.js";
import { projectDirFromArgs } from "./command-line.js";
import { UndeclaredInputError } from "./file-view.js";
import { MirrorPathError } from "./native/mirror.js";
import { loadCompilerApi } from "./native/api-client.js";
import { defaultStateDir, StateStore } from "./native/state-dir.js";
import { halfTheCores, tsgoThreadsNow } from "./native/thread-share.js";
import { ApiSessions, runApiWarm } from "./native/warm-api.js";
import { runNativeWarm, type NativeContext } from "./native/warm-native.js";
import { OutputStore } from "./output-store.js";
import { runCompilerProcess } from "./process-runner.js";
import { ProgramCache } from "./program-cache.js";
import { nativeCompilerPath, resolveTypeScript, TypeScriptResolutionError, type ResolvedTypeScript } from "./resolve-typescript.js";
import { mergeFlags, splitToolFlags, ToolFlagError, type TscToolFlags } from "./tool-flags.js";
import { TypeScriptApiError } from "./typescript-api.js";
import { VerifySampler } from "./verify.js";
import { CancelledError, runWarm, type WarmContext, type WarmStats } from "./warm-compiler.js";

export interface TscState extends WarmContext {
  readonly flags: TscToolFlags;
  /** Startup arguments that are not worker flags: passed to tsc before each request's own. */
  readonly baseArgs: readonly string[];
  readonly stats: WarmStats;
  /** TypeScript 7: state stores by directory and bound, created on first use. */
  readonly nativeStores: Map<string, StateStore>;
  readonly nativeColdTargets: Set<string>;
  /** TypeScript 7 through its compiler API: warm sessions, and the copies their outputs are linked from. */
  readonly apiSessions: ApiSessions;
  readonly apiOutputs: OutputStore;
  /** The bridge's log (stderr, never a request's output). */
  readonly log: (line: string) => void;
}

/** Default state bound: enough for dozens of large targets, small next to a build cache. */
const DEFAULT_STATE_MAX_MB = 2048;

/** The fixed share used where the machine's load cannot be read (see native/thread-share.ts). */
export const defaultTsgoThreads = halfTheCores;

/** Default budget: 60 % of V8's heap limit, leaving room for the request being compiled. */
function defaultBudgetBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.6);
}

export function createTscState(startupArgs: readonly string[], log: (line: string) => void = (l) => writeStderr(`${l}\n`)): TscState {
  const { flags, rest } = splitToolFlags(startupArgs);
  // A relative startup --state-dir means the worker's own directory, not each request's.
  if (flags.stateDir !== undefined) flags.stateDir = resolve(flags.stateDir);
  const budget = flags.maxHeapMb !== undefined ? flags.maxHeapMb * 2 ** 20 : defaultBudgetBytes();
  return {
    flags,
    baseArgs: rest,
    cache: new ProgramCache(budget),
    sampler: new VerifySampler(),
    stats: { requests: 0, warm: 0, verified: 0, verifyFailures: 0 },
    nativeStores: new Map(),
    nativeColdTargets: new Set(),
    apiSessions: new ApiSessions(),
    apiOutputs: new OutputStore(),
    log,
  };
}

function nativeContext(state: TscState, flags: TscToolFlags, cwd: string): NativeContext {
  const dir = flags.stateDir !== undefined ? resolve(cwd, flags.stateDir) : defaultStateDir();
  const maxBytes = (flags.stateMaxMb ?? DEFAULT_STATE_MAX_MB) * 2 ** 20;
  const id = `${dir}\0${maxBytes}`;
  let store = state.nativeStores.get(id);
  if (store === undefined) {
    store = new StateStore(dir, maxBytes);
    state.nativeStores.set(id, store);
  }
  return { store, threads: flags.tsgoThreads ?? tsgoThreadsNow(), log: state.log, coldTargets: state.nativeColdTargets };
}

async function runNative(state: TscState, flags: TscToolFlags, resolved: ResolvedTypeScript, args: string[], job: ToolJob, signal: AbortSignal): Promise<ToolResult> {
  const exe = nativeCompilerPath(resolved);
  const about = `TypeScript ${resolved.version} (${resolved.source}: ${resolved.dir})`;
  let apiNote = "";
  if (flags.tsgoApi !== "off") {
    const api = await loadCompilerApi(resolved.dir);
    if (typeof api === "string") apiNote = api;
    else {
      const ctx = { sessions: state.apiSessions, outputs: state.apiOutputs, threads: flags.tsgoThreads ?? tsgoThreadsNow(), log: state.log };
      const done = await runApiWarm(ctx, api, exe, resolved.version, args, job, signal);
      if (done.kind === "done") {
        const verbose = job.verbosity > 0 ? done.notes.map((n) => `worker-bridge: tsc: ${n}\n`).join("") + `worker-bridge: tsc: ${about}, warm through its API\n` : "";
        return { exitCode: done.exitCode, output: done.output + verbose };
      }
      apiNote = done.reason;
    }
  }
  const outcome = await runNativeWarm(nativeContext(state, flags, job.cwd), exe, resolved.version, args, job, signal);
  if (outcome.kind === "done") {
    const notes = apiNote !== "" ? [`not through the compiler API: ${apiNote}`, ...outcome.notes] : outcome.notes;
    const verbose = job.verbosity > 0 ? notes.map((n) => `worker-bridge: tsc: ${n}\n`).join("") + `worker-bridge: tsc: ${about}, warm native\n` : "";
    return { exitCode: outcome.exitCode, output: outcome.output + verbose };
  }
  const result = await runCompilerProcess(resolved, args, job.cwd, job.env, signal);
  const note = job.verbosity > 0 ? `worker-bridge: tsc: ran ${about} cold as a process (${outcome.reason})\n` : "";
  return { exitCode: result.exitCode, output: result.output + note };
}

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Errors the user can act on become a failed request with the message, not a worker crash. */
const USER_ERRORS = [UndeclaredInputError, TypeScriptResolutionError, ToolFlagError, TypeScriptApiError, CancelledError, MirrorPathError];

export async function runTsc(state: TscState, job: ToolJob, signal: AbortSignal): Promise<ToolResult> {
  try {
    const { flags: requestFlags, rest } = splitToolFlags(job.args);
    const flags = mergeFlags(state.flags, requestFlags);
    const args = [...state.baseArgs, ...rest];
    const projectDir = projectDirFromArgs(args, job.cwd, isDirectory);
    const resolved = resolveTypeScript(projectDir, job.cwd, flags.typescript);
    if (resolved.major >= 7) return await runNative(state, flags, resolved, args, job, signal);
    const outcome = runWarm(state, resolved, args, job, signal, flags.verifyRate ?? 0);
    if (outcome.kind === "cold") {
      const result = await runCompilerProcess(resolved, args, job.cwd, job.env, signal);
      const note = job.verbosity > 0 ? `worker-bridge: tsc: ran tsc ${resolved.version} as a process (${outcome.reason})\n` : "";
      return { exitCode: result.exitCode, output: note + result.output };
    }
    const verbose =
      job.verbosity > 0
        ? outcome.notes.map((n) => `worker-bridge: tsc: ${n}\n`).join("") + `worker-bridge: tsc: TypeScript ${resolved.version} (${resolved.source}: ${resolved.dir})\n`
        : "";
    return { exitCode: outcome.exitCode, output: outcome.output + verbose };
  } catch (err) {
    if (USER_ERRORS.some((cls) => err instanceof cls)) {
      return { exitCode: 1, output: `worker-bridge: tsc: ${(err as Error).message}\n` };
    }
    throw err;
  }
}

export default defineTool<TscState>({
  name: "tsc",
  // Compilation is synchronous CPU work on one thread; concurrent jobs would only interleave.
  maxConcurrentJobs: 1,
  init: (startupArgs) => createTscState(startupArgs),
  run: (job, ctx) => runTsc(ctx.state, job, ctx.signal),
  dispose: (state) => {
    state.cache.clear();
    state.apiSessions.closeAll();
    state.apiOutputs.clear();
  },
});
