// Entry point of a tool thread (a worker_threads Worker started by ThreadHost). The same serving
// loop as a tool process (serve-tool.ts), with messages posted as plain objects on the thread's
// MessagePort. Output capture here patches the thread's own process.stdout/stderr, which Node
// pipes to the host's Worker object, never to the bridge's fd 1.
import { parentPort, workerData } from "node:worker_threads";
import { getHeapStatistics } from "node:v8";
import { installOutputCapture, writeStderr } from "./output-capture.js";
import { serveTool } from "./serve-tool.js";
import type { ToToolMessage } from "./tool-process-ipc.js";
import type { ToolThreadConfig } from "./tool-thread-config.js";
import { bridgeMessage, EXIT_CODES } from "../errors.js";

const port = parentPort;
const config = workerData as ToolThreadConfig | undefined;
if (port === null || config?.role !== "tool-thread") {
  writeStderr(`${bridgeMessage("tool-thread-main must be started by the bridge's thread host")}\n`);
  process.exit(EXIT_CODES.usage);
}

installOutputCapture();

function threadMemory(): number {
  const heap = getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
}

const onMessage = serveTool({
  toolModule: config.toolModule,
  startupArgs: config.startupArgs,
  // A thread's process.env is its own copy: a tool changing it does not change the bridge's.
  startEnv: Object.freeze({ ...(process.env as Record<string, string>) }),
  // Plain objects: structured clone costs less per round trip than the binary frames a tool
  // process gets (bench/thread-channel.ts).
  send: (message) => port.postMessage(message),
  // A thread's messages are delivered before its "exit" event, so nothing to wait for.
  flush: (then) => then(),
  // The thread's own: its isolate's heap and the Buffers it holds outside it. RSS is the whole
  // bridge's, shared by every thread.
  memory: config.reportHeap ? threadMemory : () => -1,
  exit: (code) => process.exit(code),
  leaving: () => undefined,
});
// Only the bridge posts here, and only what toRunMessage and its siblings make.
port.on("message", (message: ToToolMessage) => onMessage(message));
