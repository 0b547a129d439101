// Warm state that survives a new directory. Executors and sandboxes run the same target in a new
// directory every time (a fresh Bazel sandbox, a NativeLink or Buildbarn action directory, a daemon
// serving one-shot runs from anywhere), and TypeScript's state is keyed by absolute paths. So the
// compiler is shown a stable virtual namespace: each directory on the path from `/` to the
// request's cwd is renamed to a fixed placeholder by its depth, everything else keeps its name.
// That renaming is a tree isomorphism that keeps the depth of cwd, so every relative path between
// two files (diagnostic paths, source map `sources`, rootDir inference, `../` imports, ancestor
// node_modules lookups) is the same as in the real directory. Reads and writes are mapped back to
// the real paths, and absolute paths that reach text (some diagnostic messages, an absolute
// mapRoot) are mapped back when the text leaves the worker.
import { posix } from "node:path";

/** Placeholder for the directory at depth i (0 = the first directory under `/`). */
const placeholder = (i: number) => `__worker_bridge_root${i}__`;
const PLACEHOLDER_CHAIN = /\/__worker_bridge_root0__(?:\/__worker_bridge_root\d+__)*/g;

export interface PathMap {
  /** The cwd as the compiler sees it. */
  readonly cwd: string;
  /** False when the real paths are used unchanged (see directoryMap). */
  readonly virtual: boolean;
  /** A path the compiler used (absolute or relative to `cwd`) → the real absolute path. */
  toReal(path: string): string;
  /** A real absolute path → the path the compiler sees. */
  toVirtual(path: string): string;
  /** Text the compiler produced, with virtual absolute paths replaced by real ones. */
  realText(text: string): string;
  /** Whether `text` names an absolute path that the mapping would rename. */
  namesRealPath(text: string): boolean;
}

const identity = (cwd: string): PathMap => ({
  cwd,
  virtual: false,
  toReal: (p) => posix.resolve(cwd, p),
  toVirtual: (p) => p,
  realText: (t) => t,
  namesRealPath: () => false,
});

/**
 * The mapping for a request in `cwd`. Real paths are kept when renaming could change what the
 * compiler decides from a directory's name: an ancestor called `node_modules` (module resolution
 * treats such files as external libraries), or a non-POSIX path.
 */
export function directoryMap(cwd: string, options: { virtual: boolean } = { virtual: true }): PathMap {
  if (!options.virtual || !cwd.startsWith("/")) return identity(cwd);
  const real = posix.resolve(cwd).split("/").filter(Boolean);
  if (real.length === 0 || real.some((c) => c === "node_modules" || c.includes("__worker_bridge_root"))) return identity(cwd);
  const virtualParts = real.map((_, i) => placeholder(i));
  const virtualCwd = "/" + virtualParts.join("/");

  const toReal = (path: string): string => {
    const abs = posix.resolve(virtualCwd, path);
    if (!abs.startsWith("/__worker_bridge_root0__")) return abs;
    const parts = abs.split("/");
    // parts[0] is "" (the root); parts[i + 1] is the component at depth i.
    for (let i = 0; i < real.length && i + 1 < parts.length && parts[i + 1] === virtualParts[i]; i++) parts[i + 1] = real[i]!;
    return parts.join("/");
  };
  const toVirtual = (path: string): string => {
    if (!path.startsWith("/" + real[0]!)) return path;
    const parts = path.split("/");
    for (let i = 0; i < real.length && i + 1 < parts.length && parts[i + 1] === real[i]; i++) parts[i + 1] = virtualParts[i]!;
    return parts.join("/");
  };
  const realText = (text: string): string => {
    if (!text.includes("/__worker_bridge_root0__")) return text;
    return text.replace(PLACEHOLDER_CHAIN, (chain) => {
      const depth = chain.split("/").length - 1;
      return depth <= real.length ? "/" + real.slice(0, depth).join("/") : chain;
    });
  };
  // A JSON string (or a path after a quote or separator) starting at the renamed top directory.
  const top = new RegExp(`["'\\s=:,(]/${real[0]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:/|["'])`);
  return { cwd: virtualCwd, virtual: true, toReal, toVirtual, realText, namesRealPath: (text) => top.test(text) };
}
