import type { HostResult, PreparedJob, ToolHost } from "../core/job.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { installOutputCapture } from "./output-capture.js";
import { runToolJob } from "./run-tool-job.js";
import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";

/**
 * Runs the tool inside the bridge process: the lowest latency, but a crash or leak in the tool is
 * a crash or leak of the bridge. `--host=inline`.
 */
export class InlineHost implements ToolHost {
  readonly capacity: number;
  /** An inline tool cannot be killed: it is promised its grace, then answered without. */
  readonly abortAllowanceMs: number;
  private state: Promise<unknown> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly tool: ToolDefinition<unknown>,
    private readonly startupArgs: readonly string[],
    options: { abortGraceMs?: number } = {},
  ) {
    this.capacity = tool.maxConcurrentJobs ?? 1;
    this.abortAllowanceMs = options.abortGraceMs ?? 0;
    // A tool's prints must land in its job's output, never on the protocol stream.
    installOutputCapture();
  }

  async run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    let state: unknown;
    try {
      state = await this.init();
    } catch (err) {
      this.state = undefined; // let the next request try again
      return { exitCode: EXIT_CODES.failure, output: bridgeMessage(`tool ${this.tool.name} failed to initialise: ${errorText(err)}`), hostPid: process.pid };
    }
    if (this.running >= this.capacity) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await runToolJob(this.tool, state, this.startupArgs, job, signal);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private init(): Promise<unknown> {
    if (!this.state) {
      const init = this.tool.init;
      this.state = Promise.resolve(init ? init.call(this.tool, this.startupArgs) : undefined);
    }
    return this.state;
  }

  async close(): Promise<void> {
    if (this.state && this.tool.dispose) {
      const state = await this.state.catch(() => undefined);
      await this.tool.dispose(state);
    }
  }
}
