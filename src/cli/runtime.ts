import { Dispatcher, type DispatcherObserver } from "../core/dispatcher.js";
import type { ToolHost } from "../core/job.js";
import { createLogger, type Logger } from "../core/logger.js";
import { createHost } from "../supervisor/create-host.js";
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
  const dispatcher = new Dispatcher(host, {
    concurrency: options.concurrency,
    logger,
    abortGraceMs: options.abortGraceMs + 2000,
    ...(overrides.observer ? { observer: overrides.observer } : {}),
  });
  return {
    options,
    logger,
    tool,
    host,
    dispatcher,
    async close(graceMs: number) {
      await dispatcher.close(graceMs);
      await host.close();
    },
  };
}
