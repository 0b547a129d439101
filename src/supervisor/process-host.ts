// Placeholder until the process host lands (issue 4): fails loudly rather than pretending.
import type { HostResult, PreparedJob, ToolHost } from "../core/job.js";
import type { HostOptions } from "./create-host.js";

export class ProcessHost implements ToolHost {
  readonly capacity = 1;
  constructor(_options: HostOptions) {
    throw new Error("--host=process is not implemented yet; use --host=inline");
  }
  run(_job: PreparedJob, _signal: AbortSignal): Promise<HostResult> {
    throw new Error("unreachable");
  }
  async close(): Promise<void> {}
}
