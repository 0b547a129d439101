// What the compiler may see of the file system for one request. With declared inputs (Bazel,
// BuildBuddy) only those files — plus the compiler's own lib directory — exist, and reading any
// other file is an error naming it: the hermeticity a warm process cannot get from the build
// system. Without inputs (Buck2, one-shot) the real file system is visible.
import { realpathSync } from "node:fs";
import { basename, dirname, resolve, sep } from "node:path";
import type { ToolInput } from "../../tool-api/define-tool.js";
import type { TypeScriptApi } from "./typescript-api.js";
import type { PathMap } from "./virtual-root.js";

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
  /**
   * Where a path really leads through symlinks, as tsc's module resolution asks (undefined: paths
   * are taken as they are, preserveSymlinks semantics).
   */
  readonly realpath: ((path: string) => string) | undefined;
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
    // tsc follows symlinks of what module resolution finds in node_modules; so does the warm host.
    realpath: sys.realpath ? (p) => sys.realpath!(abs(p)) : undefined,
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
  // Directories reached by following a declared input's symlink (tsc's module resolution does),
  // each the alias of a declared directory: behind it, exactly what is declared in that directory
  // is visible. A Bazel sandbox is a symlink farm into the execroot, so a node_modules file found
  // in the sandbox resolves to the execroot, where the sandbox's declared files are what exists.
  const aliases: { real: string; declared: string }[] = [];
  const declared = (p: string): string => {
    const a = abs(p);
    for (const alias of aliases) {
      if (isUnder(a, alias.real)) return alias.declared + a.slice(alias.real.length);
    }
    return a;
  };
  return {
    restricted: true,
    fileExists(p) {
      const a = declared(p);
      return files.has(a) || (visibleTool(a) && sys.fileExists(a));
    },
    directoryExists(p) {
      const a = declared(p);
      return children.has(a) || (visibleTool(a) && sys.directoryExists(a));
    },
    getDirectories(p) {
      const a = declared(p);
      const set = children.get(a);
      if (set) return [...set].map((c) => c.slice(a.length + (a.endsWith(sep) ? 0 : 1)));
      return visibleTool(a) ? sys.getDirectories(a) : [];
    },
    readFile(p) {
      const a = declared(p);
      if (!files.has(a) && !visibleTool(a)) throw new UndeclaredInputError(abs(p));
      return sys.readFile(a);
    },
    readDirectory(p, ext, exc, inc, depth) {
      // Glob matching is tsc's own; the result is then cut down to what was declared.
      return sys.readDirectory(abs(p), ext, exc, inc, depth).filter((f) => files.has(declared(f)) || visibleTool(declared(f)));
    },
    token(p) {
      const digest = files.get(declared(p));
      return digest === undefined || digest === "" ? undefined : digest;
    },
    realpath(p) {
      const a = abs(p);
      const d = declared(a);
      if (!files.has(d)) return a;
      let target: string;
      try {
        target = realpathSync(d);
      } catch {
        return a;
      }
      if (target === d) return a;
      // The common tail of the two paths is below the symlinked directory; what is above it in
      // the target is an alias of what is above it in the declared path.
      const dp = d.split(sep);
      const tp = target.split(sep);
      let tail = 0;
      while (tail < dp.length - 1 && tail < tp.length - 1 && dp[dp.length - 1 - tail] === tp[tp.length - 1 - tail]) tail++;
      const declaredDir = dp.slice(0, dp.length - tail).join(sep) || sep;
      const realDir = tp.slice(0, tp.length - tail).join(sep) || sep;
      if (!aliases.some((x) => x.real === realDir)) aliases.push({ real: realDir, declared: declaredDir });
      return target;
    },
  };
}

/** `view` as the compiler sees it under `map`: paths in are virtual, paths out are virtual. */
export function mappedView(view: FileView, map: PathMap): FileView {
  if (!map.virtual) return view;
  const real = map.toReal;
  const realSpec = (spec: string) => (spec.startsWith("/") ? real(spec) : spec);
  const realpath = view.realpath;
  return {
    restricted: view.restricted,
    fileExists: (p) => view.fileExists(real(p)),
    directoryExists: (p) => view.directoryExists(real(p)),
    // A child of an ancestor of cwd is renamed like every path; map each child's full path.
    getDirectories: (p) => {
      const dir = real(p);
      return view.getDirectories(dir).map((name) => basename(map.toVirtual(resolve(dir, name))));
    },
    readFile: (p) => view.readFile(real(p)),
    readDirectory: (p, ext, exc, inc, depth) =>
      view.readDirectory(real(p), ext, exc?.map(realSpec), inc.map(realSpec), depth).map((f) => map.toVirtual(f)),
    token: (p) => view.token(real(p)),
    realpath: realpath ? (p) => map.toVirtual(realpath(real(p))) : undefined,
  };
}
