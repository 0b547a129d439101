// The single-file build (`dist/worker-bridge.mjs`, made by scripts/bundle.mjs) defines
// WORKER_BRIDGE_SINGLE_FILE as `true`. Inside it every module shares the bundle's own URL, so the
// few places that find code by module path (the tool process entry, the built-in tools) ask here.
declare const WORKER_BRIDGE_SINGLE_FILE: boolean | undefined;

export const singleFileBuild: boolean = typeof WORKER_BRIDGE_SINGLE_FILE !== "undefined" && WORKER_BRIDGE_SINGLE_FILE === true;
