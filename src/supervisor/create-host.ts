import type { ToolHost } from "../core/job.js";
import type { Logger } from "../core/logger.js";
import type { ToolDefinition } from "../tools/define-tool.js";
import { InlineHost } from "./inline-host.js";

/** Where the tool runs: in child processes, or inside the bridge process. */
export type HostKind = "process" | "inline";

export interface HostOptions {
  kind: HostKind;
  /** Importable URL of the tool module (process hosts load it in each child). */
  toolModule: string;
  tool: ToolDefinition<unknown>;
  startupArgs: readonly string[];
  /** Jobs the front door may run at once; sizes the pool. */
  concurrency: number;
  tools?: number | undefined;
  abortGraceMs: number;
  maxRequestsPerTool?: number | undefined;
  maxToolMemoryMb?: number | undefined;
  logger: Logger;
}

export async function createHost(options: HostOptions): Promise<ToolHost> {
  if (options.kind === "inline") return new InlineHost(options.tool, options.startupArgs, { abortGraceMs: options.abortGraceMs });
  const { ProcessHost } = await import("./process-host.js");
  return new ProcessHost(options);
}
