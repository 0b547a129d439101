import { createLogger } from "../core/logger.js";
import type { RuntimeOptions } from "../runtime/runtime.js";
import { UsageError, type BridgeOptions } from "./options.js";

/** The neutral runtime options behind the bridge's flags. */
export function runtimeOptions(options: BridgeOptions, overrides: Partial<Pick<RuntimeOptions, "host" | "startupArgs">> = {}): RuntimeOptions {
  if (options.tool === undefined) {
    throw new UsageError("--tool NAME|PATH is required (built-in tools: probe, tsc)");
  }
  return {
    tool: options.tool,
    startupArgs: overrides.startupArgs ?? options.toolArgs,
    host: overrides.host ?? options.host,
    concurrency: options.concurrency,
    toolProcesses: options.toolProcesses,
    abortGraceMs: options.abortGraceMs,
    maxRequestsPerToolProcess: options.maxRequestsPerTool,
    maxToolProcessMemoryMb: options.maxToolMemoryMb,
    recordDir: options.record,
    logger: createLogger({ level: options.logLevel, format: options.logFormat }),
  };
}
