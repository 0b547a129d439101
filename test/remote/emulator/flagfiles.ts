import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** BuildBuddy's and Bazel's flagfile pattern (`persistentworker.go` parseArgs, Go RE2: `.` excludes `\n`). */
export const FLAGFILE_ARG = /^(?:@|--?flagfile=)(.+)/;
const EXTERNAL_REPOSITORY = /^@.*\/\/.*/;

/** Go's `bufio.MaxScanTokenSize`: a line this long or longer (without its `\n`) fails to scan. */
export const MAX_SCAN_TOKEN_BYTES = 64 * 1024;

export class FlagfileExpansionError extends Error {
  override readonly name = "FlagfileExpansionError";
}

/** Splits argv the way BuildBuddy and Bazel do: flagfile args vs. worker startup args, order kept. */
export function splitFlagfileArgs(args: readonly string[]): { workerArgs: string[]; flagfiles: string[] } {
  const workerArgs: string[] = [];
  const flagfiles: string[] = [];
  for (const arg of args) (FLAGFILE_ARG.test(arg) ? flagfiles : workerArgs).push(arg);
  return { workerArgs, flagfiles };
}

/**
 * `bufio.Scanner` with `ScanLines`: split on `\n`, drop one trailing `\r`, no empty last token
 * after a final newline, and `ErrTooLong` for a line of 64 KiB or more.
 */
export function scanLines(bytes: Uint8Array, path: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const hasNewline = end >= 0;
    if (!hasNewline) end = bytes.length;
    if (end - start >= MAX_SCAN_TOKEN_BYTES) {
      throw new FlagfileExpansionError(`reading flag file ${path}: bufio.Scanner: token too long`);
    }
    let line = bytes.subarray(start, end);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    lines.push(Buffer.from(line).toString("utf8"));
    start = end + 1;
  }
  return lines;
}

/**
 * BuildBuddy's `expandFlagFiles`: each `@file` (not `@@…`, not `@repo//…`) is read from the
 * workspace line by line and every line is expanded recursively; `--flagfile=` and `-flagfile=`
 * pass through as literal strings.
 */
export async function expandBuildBuddyFlagfiles(workspace: string, args: readonly string[], depth = 0): Promise<string[]> {
  if (depth > 64) throw new FlagfileExpansionError("flag files nested more than 64 levels deep");
  const out: string[] = [];
  for (const arg of args) {
    if (arg.startsWith("@") && !arg.startsWith("@@") && !EXTERNAL_REPOSITORY.test(arg)) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(join(workspace, arg.slice(1)));
      } catch (err) {
        throw new FlagfileExpansionError(`open flag file ${arg.slice(1)}: ${(err as Error).message}`);
      }
      for (const line of scanLines(bytes, arg.slice(1))) out.push(...(await expandBuildBuddyFlagfiles(workspace, [line], depth + 1)));
    } else {
      out.push(arg);
    }
  }
  return out;
}
