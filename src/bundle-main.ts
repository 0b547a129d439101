// Entry of the single-file build (dist/worker-bridge.mjs, made by scripts/bundle.mjs). One file
// plays both roles a process of the bridge can have: the bridge itself (src/cli.ts), and a tool
// process, which ProcessHost forks from this same file with its config in the environment.
import { TOOL_PROCESS_CONFIG_ENV } from "./supervisor/tool-process-ipc.js";

const role = process.env[TOOL_PROCESS_CONFIG_ENV] !== undefined ? "tool-process" : "bridge";
if (role === "tool-process") void import("./supervisor/tool-process-main.js");
else void import("./cli.js");
