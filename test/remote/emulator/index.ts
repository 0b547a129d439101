// The executor emulator of docs/protocol/remote-executors.md §10: REAPI-shaped actions in, one
// profile per executor, the worker run as a child process exactly as that executor drives it.
// Building blocks are exported one by one so other suites (reliability, benchmarks) can reuse them.
export * from "./remote-action.js";
export * from "./reapi-digest.js";
export * from "./flagfiles.js";
export * from "./input-root.js";
export * from "./work-messages.js";
export * from "./worker-process.js";
export * from "./one-shot.js";
export * from "./child-registry.js";
export * from "./executor-base.js";
export * from "./buck2-remote-command.js";
export * from "./bridge-actions.js";
export * from "./create-executor.js";
export { BuildBuddyExecutor, type BuildBuddyOptions, type SentRequest } from "./profiles/buildbuddy.js";
export { BuildfarmExecutor, type BuildfarmOptions } from "./profiles/buildfarm.js";
export { NativeLinkExecutor, type NativeLinkOptions } from "./profiles/nativelink.js";
export { BuildbarnExecutor, PlainExecutor, type BuildbarnOptions } from "./profiles/one-shot-executors.js";
