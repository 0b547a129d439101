// The tool side of a tool worker, the same in a child process (tool-process-main.ts) and a thread
// (tool-thread-main.ts): loads the tool once, runs the jobs the host sends, answers each, and
// disposes the tool when retired. Only how messages travel (binary frames on fd 3, objects on a
// MessagePort) and how the worker ends differ.
import { decodeJob, type IpcJob, type ToHostMessage, type ToToolMessage } from "./tool-process-ipc.js";
import { writeStderr } from "./output-capture.js";
import { runToolJob } from "./run-tool-job.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { loadTool } from "../tools/load-tool.js";
import { bridgeMessage, errorText } from "../errors.js";

export interface ToolWorkerSide {
  readonly toolModule: string;
  readonly startupArgs: readonly string[];
  /** The env the worker started with, frozen (see decodeJob). */
  readonly startEnv: Readonly<Record<string, string>>;
  send(message: ToHostMessage): void;
  /** Runs `then` once everything sent so far is delivered (or cannot be). */
  flush(then: () => void): void;
  /** Bytes to report after each job for the host's memory budget; -1 when it has none. */
  memory(): number;
  /** Ends the worker; pending frames flushed first by the caller. */
  exit(code: number): void;
  /** From now on the worker ends on purpose: the channel closing no longer means the bridge died. */
  leaving(): void;
}

/**
 * A job's abort state. The AbortController is only made when the tool looks at ctx.signal: most
 * jobs finish without doing so, and making one is a measurable part of a request's cost.
 */
class JobAbort {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  readonly signal = (): AbortSignal => {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  };

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** Starts loading the tool; returns what to do with each message from the host. */
export function serveTool(side: ToolWorkerSide): (message: ToToolMessage) => void {
  const running = new Map<number, JobAbort>();
  let ready: Promise<{ tool: ToolDefinition<unknown>; state: unknown }> | undefined;
  let retiring = false;
  let disposing = false;

  /** Queues a message; `then` runs once it and everything before it are delivered (or cannot be). */
  function post(message: ToHostMessage, then?: () => void): void {
    side.send(message);
    if (then) side.flush(then);
  }

  function start(): Promise<{ tool: ToolDefinition<unknown>; state: unknown }> {
    ready ??= (async () => {
      const tool = await loadTool(side.toolModule);
      const state = tool.init ? await tool.init.call(tool, side.startupArgs) : undefined;
      post({ t: "ready" });
      return { tool, state };
    })();
    return ready;
  }

  async function run(job: IpcJob): Promise<void> {
    const abort = new JobAbort();
    running.set(job.seq, abort);
    let loaded: { tool: ToolDefinition<unknown>; state: unknown };
    try {
      loaded = await start();
    } catch (err) {
      const message = errorText(err);
      // Exit only once the message is written; the host reports it to every waiting job.
      side.leaving();
      post({ t: "init-failed", message }, () => side.exit(1));
      return;
    }
    const result = await runToolJob(loaded.tool, loaded.state, side.startupArgs, decodeJob(job, side.startEnv), abort.signal);
    running.delete(job.seq);
    post({ t: "done", seq: job.seq, exitCode: result.exitCode, output: result.output, rss: side.memory() });
    if (retiring && running.size === 0) void retire();
  }

  async function retire(): Promise<void> {
    retiring = true;
    if (running.size > 0 || disposing) return; // the last job to finish calls back here
    disposing = true;
    side.leaving();
    try {
      // A tool that never initialised has nothing to dispose.
      const loaded = ready ? await ready.catch(() => undefined) : undefined;
      if (loaded) await loaded.tool.dispose?.(loaded.state);
    } catch (err) {
      writeStderr(`${bridgeMessage(`tool dispose failed: ${errorText(err)}`)}\n`);
    }
    // The channel is ordered: once this last message is delivered, every answer before it is too.
    post({ t: "retired" }, () => side.exit(0));
  }

  function onMessage(message: ToToolMessage): void {
    switch (message.t) {
      case "run":
        void run(message);
        break;
      case "abort":
        running.get(message.seq)?.abort(new Error(message.reason));
        break;
      case "retire":
        void retire();
        break;
    }
  }

  // Load the tool before the first job arrives: the host starts workers when it needs them, so
  // the job is usually already on its way.
  start().catch(() => undefined);

  return onMessage;
}
