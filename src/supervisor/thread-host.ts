import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ProcessHost, type ProcessHostOptions, type ToolWorkers } from "./process-host.js";
import { EnvBase, type ToHostMessage, toRunMessage } from "./tool-process-ipc.js";
import type { LaunchWorker } from "./tool-process.js";
import type { ToolThreadConfig } from "./tool-thread-config.js";
import { singleFileBuild } from "../single-file-build.js";

/**
 * Hosts the tool in worker threads of the bridge process (`--host=thread`): the process host's
 * pool, crash-loop policy, recycling and hard cancel, without a process hop per request. A thread
 * has its own heap (capped, see below) and its own globals, but not its own process: what it
 * cannot isolate is listed in docs/supervisor.md ("The thread host").
 */
export class ThreadHost extends ProcessHost {
  constructor(options: ProcessHostOptions) {
    super(options, toolThreads(options));
  }
}

/**
 * The heap cap of a thread when --max-tool-memory-mb is set: a job may end past the budget (the
 * thread is then recycled, as a process would be), one that runs away is stopped at twice it.
 */
export function threadHeapLimitMb(budgetMb: number): number {
  return Math.max(16, Math.ceil(budgetMb * 2));
}

function toolThreads(options: ProcessHostOptions): ToolWorkers {
  const env = { ...(process.env as Record<string, string>) };
  const budget = options.maxToolProcessMemoryMb;
  const config: ToolThreadConfig = {
    role: "tool-thread",
    toolModule: options.toolModule,
    startupArgs: options.startupArgs,
    reportHeap: budget !== undefined,
  };
  const entry = threadEntry();
  const jobBaseEnv = new EnvBase(env);
  const launch: LaunchWorker = (events) => {
    const worker = new Worker(entry, {
      workerData: config,
      env,
      // Piped to this Worker object, not to the bridge's stdout (the protocol stream).
      stdout: true,
      stderr: true,
      ...(budget !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: threadHeapLimitMb(budget) } } : {}),
    });
    // Threads never hold the bridge open: the front door's handles do while it serves, and a
    // shutdown waits for them on a timer (ProcessHost.close).
    worker.unref();
    const id = worker.threadId;
    worker.stdout.setEncoding("utf8");
    worker.stderr.setEncoding("utf8");
    worker.stdout.on("data", events.stdout);
    worker.stderr.on("data", events.stderr);
    worker.on("message", (message: ToHostMessage) => events.message(message));
    // An uncaught exception or the heap limit: the crash report shows it like a process's stderr.
    worker.on("error", (err: Error) => events.stderr(`${err.stack ?? String(err)}\n`));
    worker.on("exit", (code) => {
      // Let the thread's last stderr chunks arrive first, so the crash report has them.
      setImmediate(() => events.exit(code, null));
    });
    let stopped = false;
    return {
      id,
      where: `thread ${id}`,
      hostPid: process.pid,
      // Plain objects: structured clone costs less per round trip than the process host's binary
      // frames, copied or transferred (bench/thread-channel.ts).
      run: (seq, job) => {
        if (!stopped) worker.postMessage(toRunMessage(seq, job, jobBaseEnv));
      },
      abort: (seq, reason) => {
        if (!stopped) worker.postMessage({ t: "abort", seq, reason });
      },
      retire: () => {
        if (!stopped) worker.postMessage({ t: "retire" });
      },
      kill: () => void worker.terminate(),
      // Only a process's channel can carry garbage (decoded frames); kept for the interface.
      close: () => {
        stopped = true;
        worker.removeAllListeners("message");
      },
    };
  };
  return { noun: "tool thread", nouns: "tool threads", memory: "heap", launch };
}

/**
 * tool-thread-main next to this file; the single-file build is its own entry. Run from source
 * under tsx, a thread does not inherit tsx's loader (Node 20 applies `--import` hooks to the main
 * thread only), so a tiny module registers it in the thread first.
 */
function threadEntry(): string | URL {
  const here = fileURLToPath(import.meta.url);
  if (singleFileBuild) return here;
  const js = join(dirname(here), "tool-thread-main.js");
  if (existsSync(js)) return js;
  const ts = pathToFileURL(join(dirname(here), "tool-thread-main.ts")).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return new URL(`data:text/javascript,import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(ts)});`);
}
