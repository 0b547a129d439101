// Shared set-up for the host benchmarks (host-overhead, rss-curve): they measure the built hosts in
// dist/, exactly what the CLI runs, so they load those modules at run time.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as CreateHost from "../../src/supervisor/create-host.js";
import type * as Logger from "../../src/core/logger.js";
import type * as LoadTool from "../../src/tools/load-tool.js";

export interface BuiltHostModules {
  createHost: typeof CreateHost.createHost;
  createLogger: typeof Logger.createLogger;
  loadTool: typeof LoadTool.loadTool;
  resolveToolModule: typeof LoadTool.resolveToolModule;
}

/** Imports the built supervisor modules, or exits 2 telling the user to build first. */
export async function loadBuiltHostModules(benchName: string): Promise<BuiltHostModules> {
  const dist = new URL("../../dist/", import.meta.url);
  if (!existsSync(fileURLToPath(new URL("cli.js", dist)))) {
    process.stderr.write(`bench/${benchName}: dist/ is missing; run \`npm run build\` first\n`);
    process.exit(2);
  }
  const { createHost } = (await import(new URL("supervisor/create-host.js", dist).href)) as typeof CreateHost;
  const { createLogger } = (await import(new URL("core/logger.js", dist).href)) as typeof Logger;
  const { loadTool, resolveToolModule } = (await import(new URL("tools/load-tool.js", dist).href)) as typeof LoadTool;
  return { createHost, createLogger, loadTool, resolveToolModule };
}

/** `--name=N` from the command line, or `fallback`. */
export function numericFlag(name: string, fallback: number): number {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`));
  return raw ? Number(raw.slice(name.length + 3)) : fallback;
}
