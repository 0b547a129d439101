import type { ToolHost } from "../core/job.js";
import { InlineHost } from "./inline-host.js";
import type { ProcessHostOptions } from "./process-host.js";

/** Where the tool runs: in child processes, in worker threads, or inside the bridge process. */
export type HostKind = "process" | "thread" | "inline";

export interface HostOptions extends ProcessHostOptions {
  kind: HostKind;
}

export async function createHost(options: HostOptions): Promise<ToolHost> {
  if (options.kind === "inline") return new InlineHost(options.tool, options.startupArgs, { abortGraceMs: options.abortGraceMs });
  if (options.kind === "thread") {
    const { ThreadHost } = await import("./thread-host.js");
    return new ThreadHost(options);
  }
  const { ProcessHost } = await import("./process-host.js");
  return new ProcessHost(options);
}
