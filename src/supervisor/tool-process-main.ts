// Entry point of a tool process (a child of the bridge started by ProcessHost). It loads the tool
// once, runs the jobs the host sends over fd 3 (src/supervisor/frame-channel.ts), and never writes
// to fd 1 on purpose: the host reads it only to name stray printers in its log.
import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import { decodeToTool, encodeToHost, TOOL_PROCESS_CHANNEL_FD, TOOL_PROCESS_CONFIG_ENV, type ToolProcessConfig, type ToToolMessage } from "./tool-process-ipc.js";
import { FrameChannel } from "./frame-channel.js";
import { installOutputCapture, writeStderr } from "./output-capture.js";
import { serveTool } from "./serve-tool.js";
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

const socket = new Socket({ fd: TOOL_PROCESS_CHANNEL_FD, readable: true, writable: true });
/** Only a bug in the bridge could garble its own frames; a stack trace would not help the user. */
function channelBroken(reason: string): never {
  writeStderr(`${bridgeMessage(`tool process ${process.pid} cannot read what the bridge sent (${reason}); exiting`)}\n`);
  process.exit(EXIT_CODES.failure);
}

/** The bridge is gone (SIGKILL included: its end of the socket closes): never outlive it. */
function parentGone(): void {
  process.exit(0);
}

const onMessage = serveTool({
  toolModule: config.toolModule,
  startupArgs: config.startupArgs,
  // Jobs' env is sent as a difference from this snapshot, taken before the tool can touch
  // process.env. Frozen: jobs whose env is this one share it (decodeJob).
  startEnv: Object.freeze({ ...(process.env as Record<string, string>) }),
  send: (message) => channel.send(encodeToHost(message)),
  flush: (then) => channel.flush(then),
  memory: config.reportRss ? () => process.memoryUsage.rss() : () => -1,
  exit: (code) => process.exit(code),
  leaving: () => {
    socket.off("end", parentGone);
    socket.off("close", parentGone);
  },
});
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
