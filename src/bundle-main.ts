// Entry of the single-file build (dist/worker-bridge.mjs, made by scripts/bundle.mjs). One file
// plays both roles a process of the bridge can have: the bridge itself (src/cli.ts), and a tool
// process, which ProcessHost forks from this same file with its config in the environment, and a
// tool thread, which ThreadHost starts from this same file with its config as workerData.
import { isMainThread, workerData } from "node:worker_threads";
import { TOOL_PROCESS_CONFIG_ENV } from "./supervisor/tool-process-ipc.js";

const threadRole = !isMainThread && (workerData as { role?: unknown } | null)?.role === "tool-thread";
const role = threadRole ? "tool-thread" : process.env[TOOL_PROCESS_CONFIG_ENV] !== undefined ? "tool-process" : "bridge";
if (role === "tool-thread") void import("./supervisor/tool-thread-main.js");
else if (role === "tool-process") void import("./supervisor/tool-process-main.js");
else void import("./cli.js");
