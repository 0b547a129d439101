import { obtainRuntime, type RuntimeSource } from "../../runtime/runtime.js";
import { writeStderr } from "../../supervisor/output-capture.js";
import { runOnce } from "./run-once.js";

export interface OneShotServeOptions {
  /** The request: its flagfile arguments (see splitOneShotArgs), expanded by the dispatcher. */
  requestArgs: readonly string[];
  /** Default: the process's cwd. */
  cwd?: string;
}

/**
 * The one-shot front door: runs the request once, prints the tool's output on stderr, closes the
 * runtime and resolves with the tool's exit code. The runtime is best created with the inline
 * host and the startup half of splitOneShotArgs: one process, one job.
 */
export async function serveOneShot(source: RuntimeSource, options: OneShotServeOptions): Promise<number> {
  const runtime = await obtainRuntime(source);
  const result = await runOnce(runtime.dispatcher, options.requestArgs, options.cwd ?? process.cwd());
  if (result.output.length > 0) writeStderr(result.output.endsWith("\n") ? result.output : `${result.output}\n`);
  await runtime.close(0);
  return result.exitCode;
}
