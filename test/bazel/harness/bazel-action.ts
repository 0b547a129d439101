import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Turns an action's argv into what Bazel's worker strategy sends (docs/protocol/bazel-worker.md §3.2–3.3,
 * §12.2), independently of the bridge's own argfile code.
 */
export const BAZEL_FLAGFILE = /^(?:@|--?flagfile=)(.+)$/s;

export interface SplitArgv {
  startupArgs: string[];
  flagfileArgs: string[];
}

/** Every matching argument is a flagfile wherever it is; the rest keep their order as startup args. */
export function splitActionArgv(argv: readonly string[]): SplitArgv {
  const startupArgs: string[] = [];
  const flagfileArgs: string[] = [];
  for (const a of argv) (BAZEL_FLAGFILE.test(a) ? flagfileArgs : startupArgs).push(a);
  if (flagfileArgs.length === 0) {
    throw new Error(
      "Worker strategy cannot execute this action, because the command-line arguments do not contain at least one @flagfile or --flagfile=",
    );
  }
  return { startupArgs, flagfileArgs };
}

/** Bazel's expandArgument: only `@path` (not `@@…`, not `@x//…`), read relative to the execroot, recursively. */
export function bazelExpandFlagfiles(args: readonly string[], execroot: string): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.startsWith("@") && !a.startsWith("@@") && !/^@.*\/\/.*/s.test(a)) {
      const text = readFileSync(resolve(execroot, a.slice(1)), "utf8");
      const lines = text.split(/\r\n|\r|\n/);
      if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
      out.push(...bazelExpandFlagfiles(lines, execroot));
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Bazel's digest: the lowercase hex SHA-256 as ASCII bytes (not the raw hash), §1.1. */
export function bazelDigest(path: string): Uint8Array {
  return Buffer.from(createHash("sha256").update(readFileSync(path)).digest("hex"), "ascii");
}
