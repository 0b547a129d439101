// Entry point of a tool process (a child of the bridge started by ProcessHost). It loads the tool
// once, runs the jobs the host sends, and never writes to fd 1 on purpose: the host reads it only
// to name stray printers in its log.
import { decodeJob, TOOL_PROCESS_CONFIG_ENV, type IpcJob, type ToHostMessage, type ToolProcessConfig, type ToToolMessage } from "./tool-process-ipc.js";
import { installOutputCapture, writeStderr } from "./output-capture.js";
import { runToolJob } from "./run-tool-job.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { loadTool } from "../tools/load-tool.js";
import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";

installOutputCapture();

const send = process.send?.bind(process);
if (!send) {
  writeStderr(`${bridgeMessage("tool-process-main must be started by the bridge (it needs an IPC channel)")}\n`);
  process.exit(EXIT_CODES.usage);
}

const configText = process.env[TOOL_PROCESS_CONFIG_ENV];
delete process.env[TOOL_PROCESS_CONFIG_ENV];
const config = JSON.parse(configText ?? "{}") as ToolProcessConfig;
// Jobs' env is sent as a difference from this snapshot, taken before the tool can touch process.env.
const startEnv: Readonly<Record<string, string>> = { ...(process.env as Record<string, string>) };

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

const running = new Map<number, JobAbort>();
let ready: Promise<{ tool: ToolDefinition<unknown>; state: unknown }> | undefined;
let retiring = false;

function post(message: ToHostMessage, then?: () => void): void {
  try {
    if (then) send!(message, undefined, undefined, then);
    else send!(message);
  } catch {
    // The channel closed under us: the bridge is gone, and "disconnect" ends this process.
    then?.();
  }
}

/** The bridge is gone (SIGKILL included: the IPC pipe closes): never outlive it. */
function parentGone(): void {
  process.exit(0);
}
process.on("disconnect", parentGone);
// Ctrl-C reaches the whole process group; the bridge decides when its tool processes stop.
process.on("SIGINT", () => undefined);
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) parentGone();
}, 1000).unref();

function start(): Promise<{ tool: ToolDefinition<unknown>; state: unknown }> {
  ready ??= (async () => {
    const tool = await loadTool(config.toolModule);
    const state = tool.init ? await tool.init.call(tool, config.startupArgs) : undefined;
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
    post({ t: "init-failed", message }, () => process.exit(1));
    return;
  }
  const result = await runToolJob(loaded.tool, loaded.state, config.startupArgs, decodeJob(job, startEnv), abort.signal);
  running.delete(job.seq);
  post({ t: "done", seq: job.seq, exitCode: result.exitCode, output: result.output, rss: config.reportRss ? process.memoryUsage.rss() : -1 });
  if (retiring && running.size === 0) void retire();
}

let disposing = false;

async function retire(): Promise<void> {
  retiring = true;
  if (running.size > 0 || disposing) return; // the last job to finish calls back here
  disposing = true;
  process.off("disconnect", parentGone);
  try {
    // A tool that never initialised has nothing to dispose.
    const loaded = ready ? await ready.catch(() => undefined) : undefined;
    if (loaded) await loaded.tool.dispose?.(loaded.state);
  } catch (err) {
    writeStderr(`${bridgeMessage(`tool dispose failed: ${errorText(err)}`)}\n`);
  }
  // IPC is ordered: once this last message is written, every answer before it is too.
  if (process.connected) post({ t: "retired" }, () => process.exit(0));
  else process.exit(0);
}

process.on("message", (message: ToToolMessage) => {
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
});

// Load the tool before the first job arrives: the host starts processes when it needs them, so
// the job is usually already on its way.
start().catch(() => undefined);
