import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { decodeToHost, encodeAbort, encodeRetire, encodeRun, type EnvBase, TOOL_PROCESS_CHANNEL_FD, type ToHostMessage } from "./tool-process-ipc.js";
import { FrameChannel } from "./frame-channel.js";
import type { Logger } from "../core/logger.js";
import type { LaunchWorker } from "./tool-process.js";

/** A tool worker that is a child process (`--host=process`), talking over fd 3. */
export function launchToolProcess(options: {
  entry: string;
  execArgv: string[];
  env: Record<string, string>;
  /** `env` as the tool sees it (without the bridge's private config entry): jobs' env is sent as a difference from it. */
  jobBaseEnv: EnvBase;
  logger: Logger;
}): LaunchWorker {
  return (events) => {
    // Not fork(): binary frames on a plain socket, batched per event, cost less per message than
    // Node's IPC channel (docs/supervisor.md, "The channel between the bridge and a tool process").
    // fd 3 is a socket pair like the IPC channel's, and as with it, the child exits when the
    // bridge's end closes.
    const child = spawn(process.execPath, [...options.execArgv, options.entry], {
      env: options.env,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    const pid = child.pid ?? -1;
    const socket = child.stdio[TOOL_PROCESS_CHANNEL_FD] as Socket;
    const channel = new FrameChannel(
      socket,
      (frame) => {
        let message: ToHostMessage;
        try {
          message = decodeToHost(frame);
        } catch (err) {
          events.broken((err as Error).message);
          return;
        }
        events.message(message);
      },
      events.broken,
    );
    // A write to a process that just died fails (EPIPE); its exit answers the jobs.
    socket.on("error", (err) => options.logger.debug("tool process channel error", { pid, error: err.message }));
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", events.stdout);
    child.stderr!.on("data", events.stderr);
    child.on("error", (err) => {
      options.logger.debug("tool process error", { pid, error: err.message });
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) {
        events.exit(null, null, `could not be started: ${err.message}`);
      }
    });
    child.on("exit", (code, signal) => {
      // Let the stderr pipe drain so the crash report has the last words, but not forever: a
      // grandchild may hold the pipe open.
      const timer = setTimeout(() => events.exit(code, signal), 200);
      child.once("close", () => {
        clearTimeout(timer);
        events.exit(code, signal);
      });
    });
    return {
      id: pid,
      where: `process ${pid}`,
      hostPid: pid,
      run: (seq, job) => channel.send(encodeRun(seq, job, options.jobBaseEnv)),
      abort: (seq, reason) => channel.send(encodeAbort(seq, reason)),
      retire: () => channel.send(encodeRetire()),
      kill: () => void child.kill("SIGKILL"),
      close: () => channel.close(),
    };
  };
}
