import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { BridgeError } from "../errors.js";

export const DEFAULT_MAX_ARGFILE_DEPTH = 32;
/** Larger than any real params file; stops `@/dev/zero`-style inputs from filling memory. */
export const MAX_ARGFILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads an argfile only if it is a regular file of sane size: a FIFO (`@/dev/stdin`) would block
 * the read forever, and a device (`@/dev/zero`) would never end.
 */
async function readRegularFile(path: string): Promise<Uint8Array> {
  const info = await stat(path);
  if (!info.isFile()) {
    const kind = info.isDirectory() ? "a directory" : info.isFIFO() ? "a FIFO" : info.isCharacterDevice() || info.isBlockDevice() ? "a device" : info.isSocket() ? "a socket" : "a special file";
    throw Object.assign(new Error(`it is ${kind}, not a regular file`), { code: info.isDirectory() ? "EISDIR" : "ENOTREG" });
  }
  if (info.size > MAX_ARGFILE_BYTES) {
    throw Object.assign(new Error(`it is ${info.size} bytes, over the ${MAX_ARGFILE_BYTES}-byte argfile limit`), { code: "EFBIG" });
  }
  return readFile(path);
}

/** Matches the argument forms Bazel and the remote executors treat as flagfiles. */
export const FLAGFILE_PATTERN = /^(?:@|--?flagfile=)(.+)$/s;

export class ArgfileError extends BridgeError {
  override readonly name = "ArgfileError";
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export interface ExpandOptions {
  /** Directory relative argfile paths resolve against (the job's cwd, sandbox_dir applied). */
  cwd: string;
  maxDepth?: number;
  /** Reads a file; injectable for tests and for declared-input checks. */
  readFile?: (absolutePath: string) => Promise<Uint8Array>;
}

/** What an argument is, by the rules Bazel, BuildBuddy and Buildfarm apply. */
export type ArgumentKind =
  | { kind: "literal"; value: string }
  | { kind: "argfile"; path: string };

/**
 * `@path` and `--flagfile=path` / `-flagfile=path` name argfiles; `@@x` is the escape for a literal
 * `@x`; `@repo//pkg` is an external label and passes through, as in Bazel.
 */
export function classifyArgument(arg: string): ArgumentKind {
  if (arg.startsWith("@@")) return { kind: "literal", value: arg.slice(1) };
  if (arg.startsWith("@")) {
    if (arg.length === 1 || /^@.*\/\/.*/s.test(arg)) return { kind: "literal", value: arg };
    return { kind: "argfile", path: arg.slice(1) };
  }
  const flag = /^--?flagfile=(.+)$/s.exec(arg);
  if (flag) return { kind: "argfile", path: flag[1]! };
  return { kind: "literal", value: arg };
}

/** True for the arguments Bazel's worker strategy moves into the WorkRequest. */
export function isFlagfileArgument(arg: string): boolean {
  return FLAGFILE_PATTERN.test(arg);
}

/** Splits an argfile's text into arguments: one per line, exactly as written (\n, \r\n or \r). */
export function splitArgfileLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split(/\r\n|\r|\n/);
  // A trailing newline does not add an empty argument (Java readAllLines).
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Expands argfiles recursively. A missing, unreadable or binary file, a cycle, or nesting deeper
 * than `maxDepth` is an ArgfileError naming the path; nothing is half-expanded.
 */
export async function expandArgfiles(args: readonly string[], options: ExpandOptions): Promise<string[]> {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_ARGFILE_DEPTH;
  const read = options.readFile ?? readRegularFile;
  const out: string[] = [];

  async function expand(list: readonly string[], chain: string[]): Promise<void> {
    for (const arg of list) {
      const kind = classifyArgument(arg);
      if (kind.kind === "literal") {
        out.push(kind.value);
        continue;
      }
      const absolute = resolve(options.cwd, kind.path);
      if (chain.includes(absolute)) {
        throw new ArgfileError(
          `argfile cycle: ${[...chain, absolute].join(" -> ")}`,
          absolute,
        );
      }
      if (chain.length >= maxDepth) {
        throw new ArgfileError(
          `argfiles nested deeper than ${maxDepth} levels at ${absolute} (a cycle through differently named paths?)`,
          absolute,
        );
      }
      let bytes: Uint8Array;
      try {
        bytes = await read(absolute);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
        throw new ArgfileError(`cannot read argfile ${arg} (${absolute}): ${why}`, absolute);
      }
      const nul = bytes.indexOf(0);
      if (nul >= 0) {
        throw new ArgfileError(
          `argfile ${arg} (${absolute}) is binary (NUL byte at offset ${nul}); argfiles hold one argument per line`,
          absolute,
        );
      }
      const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
      await expand(splitArgfileLines(text), [...chain, absolute]);
    }
  }

  await expand(args, []);
  return out;
}

/** Fast check used on hot paths: does any argument need expansion or unescaping? */
export function needsExpansion(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg.startsWith("@") || arg.startsWith("-flagfile=") || arg.startsWith("--flagfile=")) return true;
  }
  return false;
}
