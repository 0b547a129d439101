// The library surface of worker-bridge: the tool API for tool authors, and the building blocks
// (codecs, dispatcher, hosts, front doors) for embedding the bridge.
export { defineTool, isToolDefinition } from "./tools/define-tool.js";
export type { ToolContext, ToolDefinition, ToolInput, ToolJob, ToolResult } from "./tools/define-tool.js";

export { FrameDecoder, type Frame, type FrameDecoderOptions } from "./protocol/frame-decoder.js";
export { JsonValueSplitter, type JsonValue, type JsonSplitterOptions } from "./protocol/json-splitter.js";
export { encodeVarint32, frameMessage } from "./protocol/varint.js";
export { ProtocolError, type ProtocolErrorCode } from "./protocol/errors.js";
export {
  ArgfileError,
  classifyArgument,
  expandArgfiles,
  isFlagfileArgument,
  splitArgfileLines,
  type ExpandOptions,
} from "./protocol/argfile.js";
export {
  decodeWorkRequestJson,
  decodeWorkRequestProto,
  encodeWorkResponseJson,
  encodeWorkResponseProto,
  type WorkRequestData,
  type WorkResponseData,
} from "./protocol/bazel-messages.js";

export type { HostResult, Job, JobEnd, JobOrigin, PreparedJob, Result, ToolHost } from "./core/job.js";
export { Dispatcher, type DispatcherOptions, type DispatcherObserver, type DispatcherStats } from "./core/dispatcher.js";
export { createLogger, type Logger, type LogLevel, type LogFormat } from "./core/logger.js";
export { InlineHost } from "./supervisor/inline-host.js";
export { ProcessHost, type ProcessHostStats } from "./supervisor/process-host.js";
export { createHost, type HostOptions } from "./supervisor/create-host.js";
export { BazelWorker, type BazelWorkerOptions } from "./frontends/bazel/bazel-worker.js";
export { serveBuck2, type Buck2ServeOptions } from "./frontends/buck2/serve.js";
export { serveBazel, type BazelServeOptions } from "./frontends/bazel/serve.js";
export { serveOneShot, type OneShotServeOptions } from "./frontends/oneshot/serve.js";
export { createRuntime, type Runtime, type RuntimeOptions, type RuntimeSource } from "./runtime/runtime.js";
export { createBuck2Server, bindUnixSocket, type Buck2ServerOptions } from "./frontends/buck2/grpc-server.js";
export { RequestRunner, type RequestRunnerOptions } from "./frontends/buck2/request-runner.js";
export { commandToJob, resultToResponse } from "./frontends/buck2/command-to-job.js";
export { SocketPathError } from "./frontends/buck2/socket-path.js";
export { main, detectMode, type Mode } from "./cli/main.js";
export { parseOptions, type BridgeOptions } from "./cli/options.js";
