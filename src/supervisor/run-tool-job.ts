import type { HostResult, PreparedJob } from "../core/job.js";
import type { ToolContext, ToolDefinition } from "../tool-api/define-tool.js";
import { OutputSink, runCaptured } from "./output-capture.js";
import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";

/**
 * Runs one job against an initialised tool with its output captured. Shared by the inline host
 * and the tool-process child, so a tool behaves the same in both.
 */
export async function runToolJob<S>(
  tool: ToolDefinition<S>,
  state: S,
  startupArgs: readonly string[],
  job: PreparedJob,
  /** Holds the job's signal; read only when the tool reads ctx.signal (an AbortSignal costs µs). */
  abort: { readonly signal: AbortSignal },
): Promise<HostResult> {
  const sink = new OutputSink();
  const ctx = new JobContext(abort, state, startupArgs, sink);
  try {
    const result = await runCaptured(sink, () => tool.run(job, ctx));
    const exitCode = Number.isInteger(result?.exitCode) ? result.exitCode : 1;
    let output = joinOutput(sink.text(), result?.output ?? "");
    if (!Number.isInteger(result?.exitCode)) {
      output = joinOutput(output, bridgeMessage(`tool ${tool.name} returned no integer exitCode`));
    }
    return { exitCode, output, hostPid: process.pid };
  } catch (err) {
    return {
      exitCode: EXIT_CODES.failure,
      output: joinOutput(sink.text(), bridgeMessage(`tool ${tool.name} threw: ${errorText(err)}`)),
      hostPid: process.pid,
    };
  }
}

function joinOutput(a: string, b: string): string {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return a.endsWith("\n") ? a + b : `${a}\n${b}`;
}

/** ctx for one job: a class, so the signal getter lives on the prototype, not made per job. */
class JobContext<S> implements ToolContext<S> {
  readonly log: (line: string) => void;

  constructor(
    private readonly abort: { readonly signal: AbortSignal },
    readonly state: S,
    readonly startupArgs: readonly string[],
    sink: OutputSink,
  ) {
    this.log = (line: string) => sink.append(line.endsWith("\n") ? line : `${line}\n`);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }
}
