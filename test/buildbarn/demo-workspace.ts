import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./cluster.js";

// bazel-demo for the Buildbarn suite and for measure.ts (no vitest here: measure.ts runs on its own).

export const BUNDLE = join(REPO_ROOT, "dist/worker-bridge.mjs");

/** What the suite builds in bazel-demo: the probe targets of every worker mode and the 22 TypeScript libraries. */
export const DEMO_TARGETS = ["//demo/...", "//ts/..."];

/** bazel-demo as a user has it after `npm run build`: the bundle in tools/, TypeScript in node_modules/. */
export function copyDemo(base: string): string {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
  const ws = join(base, "ws");
  cpSync(join(REPO_ROOT, "bazel-demo"), ws, {
    recursive: true,
    filter: (src) => !/\/bazel-demo\/(bazel-[^/]*|node_modules|user\.bazelrc|tools\/worker-bridge\.mjs)$/.test(src),
  });
  cpSync(BUNDLE, join(ws, "tools/worker-bridge.mjs"));
  mkdirSync(join(ws, "node_modules"));
  symlinkSync(join(REPO_ROOT, "node_modules/typescript"), join(ws, "node_modules/typescript"));
  return ws;
}

/**
 * Median time per action of a mnemonic, in ms, from Bazel's JSON trace profile (`--profile`): the
 * "action processing" events, named by the progress message ("ProbeProto demo/proto/file1.txt",
 * "Compiling TypeScript //ts:lib00").
 * Remotely that is upload, queueing, execution and download, as Bazel waits for it.
 */
export function medianActionMs(profile: string, progressPrefix: string): { median: number; count: number } {
  const trace = JSON.parse(readFileSync(profile, "utf8")) as { traceEvents?: { cat?: string; name?: string; dur?: number }[] };
  const ms = (trace.traceEvents ?? [])
    .filter((e) => e.cat === "action processing" && e.name?.startsWith(progressPrefix) && e.dur !== undefined)
    .map((e) => e.dur! / 1000)
    .sort((a, b) => a - b);
  return { median: ms.length === 0 ? NaN : ms[Math.floor(ms.length / 2)]!, count: ms.length };
}
