// What the compiler may see of the file system for one request. With declared inputs (Bazel,
// BuildBuddy) only those files — plus the compiler's own lib directory — exist, and reading any
// other file is an error naming it: the hermeticity a warm process cannot get from the build
// system. Without inputs (Buck2, one-shot) the real file system is visible.
import { dirname, resolve, sep } from "node:path";
import type { ToolInput } from "../../tool-api/define-tool.js";
import type { TypeScriptApi } from "./typescript-api.js";

export class UndeclaredInputError extends Error {
  override readonly name = "UndeclaredInputError";
  constructor(readonly path: string) {
    super(
      `tsc tried to read ${path}, which is not a declared input of this action. ` +
        `Add it to the action's inputs (e.g. srcs/deps of the target) — a persistent worker only sees declared inputs.`,
    );
  }
}

export interface FileView {
  /** True when reads are limited to declared inputs. */
  readonly restricted: boolean;
  fileExists(path: string): boolean;
  directoryExists(path: string): boolean;
  getDirectories(path: string): string[];
  readFile(path: string): string | undefined;
  readDirectory(
    path: string,
    extensions: readonly string[] | undefined,
    excludes: readonly string[] | undefined,
    includes: readonly string[],
    depth?: number,
  ): string[];
  /**
   * A cheap change token for a file when the build system gave one (its digest); undefined means
   * "compare content".
   */
  token(path: string): string | undefined;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The real file system, as tsc sees it. */
export function openFileView(ts: TypeScriptApi, cwd: string): FileView {
  const sys = ts.sys;
  const abs = (p: string) => resolve(cwd, p);
  return {
    restricted: false,
    fileExists: (p) => sys.fileExists(abs(p)),
    directoryExists: (p) => sys.directoryExists(abs(p)),
    getDirectories: (p) => sys.getDirectories(abs(p)),
    readFile: (p) => sys.readFile(abs(p)),
    readDirectory: (p, ext, exc, inc, depth) => sys.readDirectory(abs(p), ext, exc, inc, depth),
    token: () => undefined,
  };
}

/**
 * Declared inputs only. `alwaysVisible` are directories owned by the compiler itself (its lib
 * .d.ts files), which are part of the tool, not of the action's inputs.
 */
export function declaredInputsView(
  ts: TypeScriptApi,
  cwd: string,
  inputs: readonly ToolInput[],
  alwaysVisible: readonly string[],
): FileView {
  const sys = ts.sys;
  const abs = (p: string) => resolve(cwd, p);
  const files = new Map<string, string>();
  const children = new Map<string, Set<string>>();
  for (const input of inputs) {
    const path = abs(input.path);
    files.set(path, hex(input.digest));
    // Every ancestor directory exists, and lists exactly the declared subdirectories.
    for (let child = path, dir = dirname(path); dir !== child; child = dir, dir = dirname(dir)) {
      let set = children.get(dir);
      if (!set) children.set(dir, (set = new Set()));
      if (child !== path) set.add(child);
    }
  }
  const visibleTool = (p: string) => alwaysVisible.some((d) => isUnder(p, d));
  return {
    restricted: true,
    fileExists(p) {
      const a = abs(p);
      return files.has(a) || (visibleTool(a) && sys.fileExists(a));
    },
    directoryExists(p) {
      const a = abs(p);
      return children.has(a) || (visibleTool(a) && sys.directoryExists(a));
    },
    getDirectories(p) {
      const a = abs(p);
      const set = children.get(a);
      if (set) return [...set].map((c) => c.slice(a.length + (a.endsWith(sep) ? 0 : 1)));
      return visibleTool(a) ? sys.getDirectories(a) : [];
    },
    readFile(p) {
      const a = abs(p);
      if (!files.has(a) && !visibleTool(a)) throw new UndeclaredInputError(a);
      return sys.readFile(a);
    },
    readDirectory(p, ext, exc, inc, depth) {
      // Glob matching is tsc's own; the result is then cut down to what was declared.
      return sys.readDirectory(abs(p), ext, exc, inc, depth).filter((f) => files.has(abs(f)) || visibleTool(abs(f)));
    },
    token(p) {
      const digest = files.get(abs(p));
      return digest === undefined || digest === "" ? undefined : digest;
    },
  };
}
