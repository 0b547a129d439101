// The package root: the tool API, which is what most users need. It imports nothing else, so a
// tool process loading a tool that imports "worker-bridge" loads only this. Other entry points:
//   worker-bridge/tool   the same tool API under its own name
//   worker-bridge/embed  runtime, dispatcher, hosts and front doors, to embed the bridge
//   worker-bridge/bazel  the Bazel persistent-worker codecs (framing, JSON splitting, messages)
export { defineTool, isToolDefinition } from "./tool-api/define-tool.js";
export type { ToolContext, ToolDefinition, ToolInput, ToolJob, ToolResult } from "./tool-api/define-tool.js";
