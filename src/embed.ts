// `worker-bridge/embed`: the pieces to run the bridge inside another program — a runtime (tool,
// host, dispatcher) and the front doors that serve it. Heavy parts stay lazy: the process host and
// the Buck2 door (gRPC) load only when used.
import type { RuntimeSource } from "./runtime/runtime.js";
import type { Buck2ServeOptions } from "./frontends/buck2/serve.js";

export { createRuntime, obtainRuntime, type Runtime, type RuntimeOptions, type RuntimeSource } from "./runtime/runtime.js";
export { BACKSTOP_MARGIN_MS, dispatcherBackstopMs } from "./runtime/abort-timers.js";
export { Dispatcher, type DispatcherObserver, type DispatcherOptions, type DispatcherStats } from "./core/dispatcher.js";
export type { HostResult, HostStats, Job, JobEnd, JobOrigin, PreparedJob, Result, ToolHost } from "./core/job.js";
export { createLogger, type LogFields, type LogFormat, type Logger, type LoggerOptions, type LogLevel } from "./core/logger.js";
export { ArgfileError, expandArgfiles, isFlagfileArgument, type ExpandOptions } from "./core/argfile.js";
export { createHost, type HostKind, type HostOptions } from "./supervisor/create-host.js";
export { InlineHost } from "./supervisor/inline-host.js";
// Types only: importing the class would load the process host eagerly; createHost loads it.
export type { ProcessHost, ProcessHostOptions, ProcessHostStats } from "./supervisor/process-host.js";
export { serveBazel, type BazelServeOptions } from "./frontends/bazel/serve.js";
export { BazelWorker, type BazelWorkerOptions, type ShutdownReason } from "./frontends/bazel/bazel-worker.js";
export { serveOneShot, type OneShotServeOptions } from "./frontends/oneshot/serve.js";
export { splitOneShotArgs } from "./frontends/oneshot/run-once.js";
export type { Buck2ServeOptions } from "./frontends/buck2/serve.js";
export type { WorkMessageFormat } from "./protocol/bazel/codec.js";
export type { ToolContext, ToolDefinition, ToolInput, ToolJob, ToolResult } from "./tool-api/define-tool.js";

/** The Buck2 front door; gRPC is loaded on the first call, not when this module is imported. */
export async function serveBuck2(runtime: RuntimeSource, options: Buck2ServeOptions): Promise<number> {
  const door = await import("./frontends/buck2/serve.js");
  return door.serveBuck2(runtime, options);
}
