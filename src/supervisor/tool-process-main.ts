// Entry point of a tool process (a child of the bridge started by ProcessHost). It loads the tool
// once, runs the jobs the host sends over fd 3 (src/supervisor/frame-channel.ts), and never writes
// to fd 1 on purpose: the host reads it only to name stray printers in its log.
import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import {
  decodeJob,
  decodeToTool,
  encodeToHost,
  TOOL_PROCESS_CHANNEL_FD,
  TOOL_PROCESS_CONFIG_ENV,
  type IpcJob,
  type ToHostMessage,
  type ToolProcessConfig,
  type ToToolMessage,
} from "./tool-process-ipc.js";
import { FrameChannel } from "./frame-channel.js";
import { installOutputCapture, writeStderr } from "./output-capture.js";
import { runToolJob } from "./run-tool-job.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { loadTool } from "../tools/load-tool.js";
import { bridgeMessage, errorText, EXIT_CODES } from "../errors.js";

installOutputCapture();

function channelIsOpen(): boolean {
  try {
    return fstatSync(TOOL_PROCESS_CHANNEL_FD).isSocket();
  } catch {
    return false;
  }
}
if (!channelIsOpen()) {
  writeStderr(`${bridgeMessage(`tool-process-main must be started by the bridge (it needs the bridge's socket on fd ${TOOL_PROCESS_CHANNEL_FD})`)}\n`);
  process.exit(EXIT_CODES.usage);
}

const configText = process.env[TOOL_PROCESS_CONFIG_ENV];
delete process.env[TOOL_PROCESS_CONFIG_ENV];
const config = JSON.parse(configText ?? "{}") as ToolProcessConfig;
// Jobs' env is sent as a difference from this snapshot, taken before the tool can touch process.env.
// Frozen: jobs whose env is this one share it (decodeJob).
const startEnv: Readonly<Record<string, string>> = Object.freeze({ ...(process.env as Record<string, string>) });

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

const socket = new Socket({ fd: TOOL_PROCESS_CHANNEL_FD, readable: true, writable: true });
/** Only a bug in the bridge could garble its own frames; a stack trace would not help the user. */
function channelBroken(reason: string): never {
  writeStderr(`${bridgeMessage(`tool process ${process.pid} cannot read what the bridge sent (${reason}); exiting`)}\n`);
  process.exit(EXIT_CODES.failure);
}
const channel = new FrameChannel(
  socket,
  (frame) => {
    let message: ToToolMessage;
    try {
      message = decodeToTool(frame);
    } catch (err) {
      channelBroken(errorText(err));
    }
    onMessage(message);
  },
  channelBroken,
);

/** Queues a message; `then` runs once it and everything before it are written (or cannot be). */
function post(message: ToHostMessage, then?: () => void): void {
  channel.send(encodeToHost(message));
  if (then) channel.flush(then);
}

/** The bridge is gone (SIGKILL included: its end of the socket closes): never outlive it. */
function parentGone(): void {
  process.exit(0);
}
socket.on("end", parentGone);
socket.on("close", parentGone);
// A write to a bridge that just died fails with EPIPE; "close" follows and ends the process.
socket.on("error", () => undefined);
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
  socket.off("end", parentGone);
  socket.off("close", parentGone);
  try {
    // A tool that never initialised has nothing to dispose.
    const loaded = ready ? await ready.catch(() => undefined) : undefined;
    if (loaded) await loaded.tool.dispose?.(loaded.state);
  } catch (err) {
    writeStderr(`${bridgeMessage(`tool dispose failed: ${errorText(err)}`)}\n`);
  }
  // The socket is ordered: once this last message is written, every answer before it is too.
  post({ t: "retired" }, () => process.exit(0));
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

// Load the tool before the first job arrives: the host starts processes when it needs them, so
// the job is usually already on its way.
start().catch(() => undefined);
