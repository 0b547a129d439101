// Placeholder until the Buck2 front door lands (issue 3): fails loudly rather than pretending.
import type { BridgeOptions } from "../../cli/options.js";
import { writeStderr } from "../../supervisor/output-capture.js";

export async function serveBuck2(_options: BridgeOptions, socketPath: string): Promise<number> {
  writeStderr(`worker-bridge: WORKER_SOCKET=${socketPath} is set but the Buck2 front door is not implemented yet\n`);
  return 2;
}
