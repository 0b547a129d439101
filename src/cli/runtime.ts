import { Dispatcher, type DispatcherObserver } from "../core/dispatcher.js";
import type { ToolHost } from "../core/job.js";
import { createLogger, type Logger } from "../core/logger.js";
import { RecordError, Recorder } from "../record/recorder.js";
import { createHost } from "../supervisor/create-host.js";
import { STARTUP_ALLOWANCE_MS } from "../supervisor/tool-process.js";
import { loadTool, resolveToolModule } from "../tools/load-tool.js";
import type { ToolDefinition } from "../tools/define-tool.js";
import { type BridgeOptions, UsageError } from "./options.js";

/** The core every front door shares: one tool, one host, one dispatcher. */
export interface Runtime {
  readonly options: BridgeOptions;
  readonly logger: Logger;
  readonly tool: ToolDefinition<unknown>;
  readonly host: ToolHost;
  readonly dispatcher: Dispatcher;
  close(graceMs: number): Promise<void>;
  /** Logs requests, failures, crashes, recycles and p50/p99 at info (once; close() calls it too). */
  logSummary(): void;
}

export interface RuntimeOverrides {
  host?: BridgeOptions["host"];
  startupArgs?: readonly string[];
  observer?: DispatcherObserver;
  logger?: Logger;
}

export async function createRuntime(options: BridgeOptions, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  if (options.tool === undefined) {
    throw new UsageError("--tool NAME|PATH is required (built-in tools: probe, tsc)");
  }
  const logger = overrides.logger ?? createLogger({ level: options.logLevel, format: options.logFormat });
  const toolModule = resolveToolModule(options.tool, process.cwd());
  const tool = await loadTool(toolModule);
  const host = await createHost({
    kind: overrides.host ?? options.host,
    toolModule,
    tool,
    startupArgs: overrides.startupArgs ?? options.toolArgs,
    concurrency: options.concurrency,
    tools: options.tools,
    abortGraceMs: options.abortGraceMs,
    maxRequestsPerTool: options.maxRequestsPerTool,
    maxToolMemoryMb: options.maxToolMemoryMb,
    logger,
  });
  let observer = overrides.observer;
  if (!observer && options.record !== undefined) {
    try {
      observer = new Recorder({
        dir: options.record,
        tool: options.tool,
        toolModule,
        startupArgs: overrides.startupArgs ?? options.toolArgs,
        host: overrides.host ?? options.host,
        logger,
      });
    } catch (err) {
      await host.close();
      throw err instanceof RecordError ? new UsageError(err.message) : err;
    }
  }
  const dispatcher = new Dispatcher(host, {
    concurrency: options.concurrency,
    logger,
    // The backstop must not beat the host's own bound: a process host gives a tool still loading
    // (a cold start on a busy machine) STARTUP_ALLOWANCE_MS more before it kills it.
    abortGraceMs: options.abortGraceMs + 2000 + ((overrides.host ?? options.host) === "process" ? STARTUP_ALLOWANCE_MS : 0),
    ...(observer ? { observer } : {}),
  });
  let summarised = false;
  const logSummary = (): void => {
    if (summarised) return;
    summarised = true;
    const s = dispatcher.stats();
    const hostStats = "stats" in host && typeof host.stats === "function" ? (host.stats() as Record<string, number>) : {};
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
    options,
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
