import { availableParallelism } from "node:os";
import { Dispatcher, type DispatcherObserver } from "../core/dispatcher.js";
import type { ToolHost } from "../core/job.js";
import { createLogger, type Logger } from "../core/logger.js";
import { createHost, type HostKind } from "../supervisor/create-host.js";
import { loadTool, resolveToolModule } from "../tools/load-tool.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { dispatcherBackstopMs } from "./abort-timers.js";

/**
 * What the core needs to host one tool, in neutral terms: no CLI flags, no protocol. The CLI maps
 * its flags onto this; an embedder fills it in directly.
 */
export interface RuntimeOptions {
  /** A built-in tool name (probe, tsc), a module path (resolved against `cwd`) or a file: URL. */
  tool: string;
  /** The tool's startup arguments, given to its `init`. */
  startupArgs: readonly string[];
  /** Where the tool runs: child processes (default) or inside this process. */
  host?: HostKind;
  /** Jobs running at once; default: `defaultConcurrency(tool)`. */
  concurrency?: number | undefined;
  /** Tool processes (process host); default: enough for `concurrency`, at most the CPU count. */
  toolProcesses?: number | undefined;
  /** After an abort, how long a tool gets before its process is killed (hard cancel). */
  abortGraceMs: number;
  /** Recycle a tool process after this many requests. */
  maxRequestsPerToolProcess?: number | undefined;
  /** Recycle a tool process above this RSS. */
  maxToolProcessMemoryMb?: number | undefined;
  /** Write every request and its result under this directory (see `worker-bridge replay`). */
  recordDir?: string | undefined;
  /** Told about every job; replaces the recorder when given. */
  observer?: DispatcherObserver;
  /** Default: warnings and errors as text on stderr. */
  logger?: Logger;
  /** Directory a relative tool path resolves against; default: the process's cwd. */
  cwd?: string;
}

/** The core every front door shares: one tool, one host, one dispatcher. */
export interface Runtime {
  readonly logger: Logger;
  readonly tool: ToolDefinition<unknown>;
  readonly host: ToolHost;
  readonly dispatcher: Dispatcher;
  /** Closes the dispatcher (running jobs get `graceMs`), then the host; logs the summary. */
  close(graceMs: number): Promise<void>;
  /** Logs requests, failures, crashes, recycles and p50/p99 at info (once; close() calls it too). */
  logSummary(): void;
}

/**
 * Jobs running at once when the user sets no limit: one per CPU, or as many as one process of the
 * tool says it takes at once (`maxConcurrentJobs`) when that is more. A tool that runs async jobs
 * side by side gets what it declared even on a small machine, instead of having every job beyond
 * the CPU count wait for a slot, a round trip to its tool process each (bench/README.md, "What the
 * quiet runs were measuring"). A tool that takes one job at a time (tsc) gets one per CPU, as before.
 */
export function defaultConcurrency(tool: Pick<ToolDefinition<unknown>, "maxConcurrentJobs">): number {
  const perProcess = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(tool.maxConcurrentJobs ?? 1));
  return Math.max(availableParallelism(), perProcess);
}

/**
 * Loads the tool and assembles host and dispatcher. Throws ToolLoadError when the tool cannot be
 * loaded and RecordError when the record directory cannot be written.
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const logger = options.logger ?? createLogger();
  const hostKind = options.host ?? "process";
  const toolModule = resolveToolModule(options.tool, options.cwd ?? process.cwd());
  const tool = await loadTool(toolModule);
  const concurrency = options.concurrency ?? defaultConcurrency(tool);
  const host = await createHost({
    kind: hostKind,
    toolModule,
    tool,
    startupArgs: options.startupArgs,
    concurrency,
    toolProcesses: options.toolProcesses,
    abortGraceMs: options.abortGraceMs,
    maxRequestsPerToolProcess: options.maxRequestsPerToolProcess,
    maxToolProcessMemoryMb: options.maxToolProcessMemoryMb,
    logger,
  });
  let observer = options.observer;
  if (!observer && options.recordDir !== undefined) {
    try {
      // Loaded only when recording: a one-shot run must not pay for modules it does not use.
      const { Recorder } = await import("../record/recorder.js");
      observer = new Recorder({
        dir: options.recordDir,
        tool: options.tool,
        toolModule,
        startupArgs: options.startupArgs,
        host: hostKind,
        logger,
      });
    } catch (err) {
      await host.close();
      throw err;
    }
  }
  const dispatcher = new Dispatcher(host, {
    concurrency,
    logger,
    abortGraceMs: dispatcherBackstopMs(host),
    ...(observer ? { observer } : {}),
  });
  let summarised = false;
  const logSummary = (): void => {
    if (summarised) return;
    summarised = true;
    const s = dispatcher.stats();
    const hostStats = host.stats?.() ?? {};
    logger.info("summary", {
      requests: s.requests,
      failures: s.failures,
      cancelled: s.cancelled,
      timedOut: s.timedOut,
      crashed: s.crashed,
      crashes: hostStats.crashes,
      recycles: hostStats.recycles,
      hardKills: hostStats.hardKills,
      toolProcesses: hostStats.processesStarted,
      p50Ms: s.p50Ms === undefined ? undefined : Math.round(s.p50Ms * 1000) / 1000,
      p99Ms: s.p99Ms === undefined ? undefined : Math.round(s.p99Ms * 1000) / 1000,
    });
  };
  return {
    logger,
    tool,
    host,
    dispatcher,
    async close(graceMs: number) {
      await dispatcher.close(graceMs);
      await host.close();
      logSummary();
    },
    logSummary,
  };
}

/**
 * What a front door takes: a runtime, or a function making one. With the function the door
 * decides when the tool loads — the Buck2 door first checks its socket and starts watching for
 * SIGTERM, so a stop during start-up still ends in an orderly exit.
 */
export type RuntimeSource = Runtime | (() => Promise<Runtime>);

export function obtainRuntime(source: RuntimeSource): Promise<Runtime> {
  return typeof source === "function" ? source() : Promise.resolve(source);
}
