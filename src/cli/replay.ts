// Placeholder until record/replay lands (issue 4): fails loudly rather than pretending.
import { writeStderr } from "../supervisor/output-capture.js";

export async function replayMain(_argv: readonly string[]): Promise<number> {
  writeStderr("worker-bridge: 'replay' is not implemented yet\n");
  return 2;
}
