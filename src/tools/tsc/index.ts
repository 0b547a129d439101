// `worker-bridge --tool tsc`: a warm TypeScript compiler that answers exactly like a cold `tsc`.
// Module map: resolve-typescript (which compiler), command-line (tsc CLI semantics), file-view
// (declared inputs only), compiler-host (parsed-file reuse and probe log), compile (builder and
// diagnostics), outputs (always write everything), program-cache (LRU under a heap budget),
// verify (staleness guard), process-runner (TypeScript 7 native and cold fallbacks).
import { statSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { defineTool, type ToolJob, type ToolResult } from "../../tool-api/define-tool.js";
import { projectDirFromArgs } from "./command-line.js";
import { UndeclaredInputError } from "./file-view.js";
import { runCompilerProcess } from "./process-runner.js";
import { ProgramCache } from "./program-cache.js";
import { resolveTypeScript, TypeScriptResolutionError } from "./resolve-typescript.js";
import { mergeFlags, splitToolFlags, ToolFlagError, type TscToolFlags } from "./tool-flags.js";
import { TypeScriptApiError } from "./typescript-api.js";
import { VerifySampler } from "./verify.js";
import { CancelledError, runWarm, type WarmContext, type WarmStats } from "./warm-compiler.js";

export interface TscState extends WarmContext {
  readonly flags: TscToolFlags;
  /** Startup arguments that are not worker flags: passed to tsc before each request's own. */
  readonly baseArgs: readonly string[];
  readonly stats: WarmStats;
}

/** Default budget: 60 % of V8's heap limit, leaving room for the request being compiled. */
function defaultBudgetBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.6);
}

export function createTscState(startupArgs: readonly string[]): TscState {
  const { flags, rest } = splitToolFlags(startupArgs);
  const budget = flags.maxHeapMb !== undefined ? flags.maxHeapMb * 2 ** 20 : defaultBudgetBytes();
  return {
    flags,
    baseArgs: rest,
    cache: new ProgramCache(budget),
    sampler: new VerifySampler(),
    stats: { requests: 0, warm: 0, verified: 0, verifyFailures: 0 },
  };
}

const isDirectory = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** Errors the user can act on become a failed request with the message, not a worker crash. */
const USER_ERRORS = [UndeclaredInputError, TypeScriptResolutionError, ToolFlagError, TypeScriptApiError, CancelledError];

export async function runTsc(state: TscState, job: ToolJob, signal: AbortSignal): Promise<ToolResult> {
  try {
    const { flags: requestFlags, rest } = splitToolFlags(job.args);
    const flags = mergeFlags(state.flags, requestFlags);
    const args = [...state.baseArgs, ...rest];
    const projectDir = projectDirFromArgs(args, job.cwd, isDirectory);
    const resolved = resolveTypeScript(projectDir, job.cwd, flags.typescript);
    if (resolved.major >= 7) {
      const result = await runCompilerProcess(resolved, args, job.cwd, job.env, signal);
      return {
        exitCode: result.exitCode,
        output:
          `worker-bridge: tsc: TypeScript ${resolved.version} is the native compiler; it runs cold for every request and is not kept warm.\n` +
          result.output,
      };
    }
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
  dispose: (state) => state.cache.clear(),
});
