import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The built CLI (tests that spawn the bridge use dist/, see the preamble: `npm run build` first). */
export const BRIDGE_CLI = fileURLToPath(new URL("../../../dist/cli.js", import.meta.url));

/** A rendered `WorkerInfo.exe` that starts worker-bridge with `args` (e.g. `--tool probe`). */
export function bridgeExe(...args: string[]): string[] {
  if (!existsSync(BRIDGE_CLI)) throw new Error(`${BRIDGE_CLI} is missing: run \`npm run build\` first`);
  return [process.execPath, BRIDGE_CLI, ...args];
}
