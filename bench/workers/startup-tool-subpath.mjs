// A tool importing the tool API's own entry point, "worker-bridge/tool" (no dependencies).
import { defineTool } from "worker-bridge/tool";

export default defineTool({ name: "subpath", run: () => ({ exitCode: 0 }) });
