// Start-up floor for bench/tool-startup.ts: a tool that imports nothing from worker-bridge. The
// tool process only accepts values made by defineTool, so the brand is set by hand here.
export default { [Symbol.for("worker-bridge.tool")]: true, name: "bare", run: () => ({ exitCode: 0 }) };
