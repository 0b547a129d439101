// Decides whether a TypeScript 7 request can be compiled warm, and fingerprints what it compiles.
// tsgo itself resolves the configuration (`--showConfig`: its own parser, `extends`, globs — about
// as cheap as starting the binary), so TypeScript 7's semantics are never second-guessed. When in
// doubt (an error, an option the warm path would change the meaning of), the request runs as a
// plain cold tsgo process, which is always exactly right.
import { createHash } from "node:crypto";
import { runTsgo } from "./run-tsgo.js";

export type NativePlan =
  | { readonly kind: "warm"; readonly optionsHash: string; readonly options?: Readonly<Record<string, unknown>> }
  | { readonly kind: "cold"; readonly reason: string };

/** Command-line switches for modes other than "compile this project" (case-insensitive, - or --). */
const COLD_SWITCHES = new Set(["b", "build", "w", "watch", "h", "help", "?", "all", "v", "version", "init", "showconfig", "api", "lsp"]);

/**
 * Resolved options the warm path cannot honour unchanged: printing modes, and the project's own
 * incremental state (its `.tsbuildinfo` is an output the user expects, with paths relative to
 * where the user put it).
 */
const COLD_OPTIONS = [
  "incremental",
  "composite",
  "tsBuildInfoFile",
  "outFile",
  "listFiles",
  "listFilesOnly",
  "listEmittedFiles",
  "explainFiles",
  "diagnostics",
  "extendedDiagnostics",
  "generateTrace",
  "generateCpuProfile",
  "traceResolution",
  "pprofDir",
  "locale",
  "pretty",
  "quiet",
] as const;

export function coldSwitch(args: readonly string[]): string | undefined {
  for (const a of args) {
    const m = /^--?([^=]+)$/.exec(a);
    if (m && COLD_SWITCHES.has(m[1]!.toLowerCase())) return a;
  }
  return undefined;
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

export async function planNative(
  exe: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<NativePlan> {
  const sw = coldSwitch(args);
  if (sw !== undefined) return { kind: "cold", reason: sw };
  const shown = await runTsgo(exe, [...args, "--showConfig"], cwd, env, signal);
  if (shown.kind !== "exited" || shown.exitCode !== 0) return { kind: "cold", reason: "tsgo --showConfig did not succeed" };
  let config: { compilerOptions?: Record<string, unknown>; references?: unknown };
  try {
    config = JSON.parse(shown.output) as typeof config;
  } catch {
    return { kind: "cold", reason: "tsgo --showConfig printed something other than JSON" };
  }
  const options = config.compilerOptions ?? {};
  const cold = COLD_OPTIONS.find((name) => options[name] !== undefined && options[name] !== false);
  if (cold !== undefined) return { kind: "cold", reason: cold };
  if (Array.isArray(config.references) && config.references.length > 0) return { kind: "cold", reason: "project references" };
  // The request directory appears in absolute paths (exclude); the fingerprint must survive a move.
  const text = sortedJson(config).split(cwd).join("<cwd>");
  return { kind: "warm", optionsHash: createHash("sha256").update(text).digest("hex"), options };
}
