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
  /** The tool's state once `init` has resolved: later jobs start without awaiting it. */
  private ready: { state: unknown } | undefined;
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

  run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    return this.runWithSignalOnDemand(job, { signal });
  }

  /** `abort.signal` reaches the tool as ctx.signal, made only if the tool reads it. */
  runWithSignalOnDemand(job: PreparedJob, abort: { readonly signal: AbortSignal }): Promise<HostResult> {
    // The common case — tool initialised, a free slot — starts the job at once, without a tick.
    if (this.ready && this.running < this.capacity) {
      this.running++;
      return this.runInSlot(this.ready.state, job, abort);
    }
    return this.runWhenReady(job, abort);
  }

  private async runWhenReady(job: PreparedJob, abort: { readonly signal: AbortSignal }): Promise<HostResult> {
    let state: unknown;
    try {
      state = await this.init();
    } catch (err) {
      this.state = undefined; // let the next request try again
      return { exitCode: EXIT_CODES.failure, output: bridgeMessage(`tool ${this.tool.name} failed to initialise: ${errorText(err)}`), hostPid: process.pid };
    }
    // A finishing job hands its slot straight to the first waiter, so a job arriving meanwhile
    // cannot take it first.
    if (this.running >= this.capacity) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    return this.runInSlot(state, job, abort);
  }

  /** Runs a job that holds a slot; gives the slot to the next waiter (or frees it) when done. */
  private runInSlot(state: unknown, job: PreparedJob, abort: { readonly signal: AbortSignal }): Promise<HostResult> {
    const release = (): void => {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
    // runToolJob turns every tool failure into a result; the slot is released either way.
    return runToolJob(this.tool, state, this.startupArgs, job, abort).then(
      (result) => {
        release();
        return result;
      },
      (err: unknown) => {
        release();
        throw err;
      },
    );
  }

  private init(): Promise<unknown> {
    if (!this.state) {
      const init = this.tool.init;
      const state = Promise.resolve(init ? init.call(this.tool, this.startupArgs) : undefined);
      this.state = state;
      state.then(
        (value) => {
          if (this.state === state) this.ready = { state: value };
        },
        () => {},
      );
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
