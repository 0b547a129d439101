import type { Dispatcher } from "../../core/dispatcher.js";
import type { Result } from "../../core/job.js";
import { isFlagfileArgument } from "../../core/argfile.js";

/**
 * How a one-shot command line divides, mirroring Bazel's worker strategy: flagfile arguments
 * (`@file`, `--flagfile=`) are the request; everything else is the tool's startup arguments. So
 * `tool startup... @params` gives the same result one-shot as it does as a persistent worker.
 * Without any flagfile the whole command line is the request.
 */
export function splitOneShotArgs(toolArgs: readonly string[]): { startupArgs: string[]; requestArgs: string[] } {
  const requestArgs = toolArgs.filter(isFlagfileArgument);
  if (requestArgs.length === 0) return { startupArgs: [], requestArgs: [...toolArgs] };
  return { startupArgs: toolArgs.filter((a) => !isFlagfileArgument(a)), requestArgs };
}

/** Runs the request once in the current directory with the process environment. */
export async function runOnce(dispatcher: Dispatcher, requestArgs: readonly string[], cwd: string): Promise<Result> {
  return dispatcher.submit({
    id: 0,
    origin: "oneshot",
    args: requestArgs,
    inputs: [],
    cwd,
    env: {},
    signal: new AbortController().signal,
    verbosity: 0,
  });
}
