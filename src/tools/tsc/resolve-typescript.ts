// Which TypeScript compiles a request: the one the project being built depends on (found in a
// node_modules directory at or above the project), else the one worker-bridge itself depends on.
// Paths are never realpath'd: in a Bazel sandbox every file is a symlink and the link's location
// is what identifies it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { compilerFiles } from "./compiler-identity.js";
import type { TypeScriptApi } from "./typescript-api.js";

export interface ResolvedTypeScript {
  /** Package directory (contains package.json). */
  readonly dir: string;
  readonly version: string;
  readonly major: number;
  /** Where it came from, for verbose output. */
  readonly source: "flag" | "project" | "bundled";
}

export class TypeScriptResolutionError extends Error {
  override readonly name = "TypeScriptResolutionError";
}

function readVersion(dir: string): string {
  const manifestPath = join(dir, "package.json");
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (err) {
    throw new TypeScriptResolutionError(`cannot read ${manifestPath}: ${(err as Error).message}`);
  }
  const version = (manifest as { version?: unknown }).version;
  if (typeof version !== "string") throw new TypeScriptResolutionError(`${manifestPath} has no "version"`);
  return version;
}

function describe(dir: string, source: ResolvedTypeScript["source"]): ResolvedTypeScript {
  const version = readVersion(dir);
  const major = Number.parseInt(version, 10);
  if (!Number.isFinite(major)) throw new TypeScriptResolutionError(`unrecognised TypeScript version "${version}" in ${dir}`);
  return { dir, version, major, source };
}

function bundledDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("typescript/package.json"));
}

/**
 * @param projectDir directory of the tsconfig (or the request's cwd without one)
 * @param override   `--typescript DIR`, relative to cwd
 */
export function resolveTypeScript(projectDir: string, cwd: string, override: string | undefined): ResolvedTypeScript {
  if (override !== undefined) {
    const dir = resolve(cwd, override);
    if (!existsSync(join(dir, "package.json"))) {
      throw new TypeScriptResolutionError(`--typescript ${override}: no package.json in ${dir}`);
    }
    return describe(dir, "flag");
  }
  for (let dir = resolve(projectDir); ; ) {
    const candidate = join(dir, "node_modules", "typescript");
    if (existsSync(join(candidate, "package.json"))) return describe(candidate, "project");
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  let bundled: string;
  try {
    bundled = bundledDir();
  } catch {
    // The single-file build has no TypeScript of its own: in a remote action or a sandbox, the
    // project's copy must be an input.
    throw new TypeScriptResolutionError(
      `no TypeScript found: no node_modules/typescript at or above ${resolve(projectDir)}, and none next to worker-bridge; install typescript in the project (as an action input when it runs sandboxed or remotely) or pass --typescript DIR`,
    );
  }
  return describe(bundled, "bundled");
}

/** A JavaScript compiler API (5.x/6.x) as loaded for one request. */
export interface LoadedTypeScript {
  /** One instance per compiler identity, whichever directory it was first loaded from. */
  readonly api: TypeScriptApi;
  /** Content identity (compiler-identity.ts): byte-identical installs share it. */
  readonly identity: string;
  /** Which load of that identity: warm state built by one instance never meets another. */
  readonly instance: number;
  /**
   * This request's default lib directory (real path). The shared instance would report the
   * directory it was loaded from, which may belong to another (even deleted) build directory.
   */
  readonly libDir: string;
}

/** Distinct compilers kept loaded at once (tens of MB each); least recently used goes first. */
const MAX_LOADED_COMPILERS = 4;
const loaded = new Map<string, { readonly api: TypeScriptApi; readonly instance: number }>();
let instances = 0;

/** Compilers loaded, and requests served by one already loaded: for tests and diagnostics. */
export const loadStats = { loads: 0, reused: 0 };

/**
 * The compiler for `ts`: loaded once per identity, so every build directory holding the same
 * TypeScript shares one instance and the warm state built with it.
 */
export function loadTypeScript(ts: ResolvedTypeScript): LoadedTypeScript {
  let files;
  try {
    files = compilerFiles(ts.dir, ts.version);
  } catch (err) {
    throw new TypeScriptResolutionError(`cannot read TypeScript ${ts.version} at ${ts.dir}: ${(err as Error).message}`);
  }
  const known = loaded.get(files.identity);
  if (known !== undefined) {
    loaded.delete(files.identity);
    loaded.set(files.identity, known);
    loadStats.reused++;
    return { ...known, identity: files.identity, libDir: files.libDir };
  }
  const require = createRequire(join(ts.dir, "package.json"));
  // A module cached at this path may be an older content of it (a new identity now): load afresh.
  forgetModules(require.cache, [ts.dir, dirname(files.main)]);
  const api = require(files.main) as TypeScriptApi;
  // The instance is held here; the require cache would otherwise keep one more copy per directory.
  forgetModules(require.cache, [ts.dir, dirname(files.main)]);
  if (typeof api.createEmitAndSemanticDiagnosticsBuilderProgram !== "function") {
    throw new TypeScriptResolutionError(`${ts.dir} (TypeScript ${ts.version}) does not expose the JavaScript compiler API`);
  }
  const entry = { api, instance: ++instances };
  loadStats.loads++;
  loaded.set(files.identity, entry);
  for (const identity of loaded.keys()) {
    if (loaded.size <= MAX_LOADED_COMPILERS) break;
    loaded.delete(identity);
  }
  return { ...entry, identity: files.identity, libDir: files.libDir };
}

function forgetModules(requireCache: NodeJS.Require["cache"], dirs: readonly string[]): void {
  const prefixes = dirs.map((d) => (d.endsWith(sep) ? d : d + sep));
  for (const id of Object.keys(requireCache)) if (prefixes.some((p) => id.startsWith(p))) delete requireCache[id];
}

/** TypeScript 7's package ships the compiler as a platform binary in an optional dependency. */
export function nativeCompilerPath(ts: ResolvedTypeScript): string {
  const platformPackage = `@typescript/typescript-${process.platform}-${process.arch}`;
  const require = createRequire(join(ts.dir, "package.json"));
  let manifest: string;
  try {
    manifest = require.resolve(`${platformPackage}/package.json`);
  } catch {
    throw new TypeScriptResolutionError(
      `TypeScript ${ts.version} at ${ts.dir} needs its native compiler package ${platformPackage}, which is not installed (reinstall with optional dependencies enabled)`,
    );
  }
  const exe = join(dirname(manifest), "lib", process.platform === "win32" ? "tsc.exe" : "tsc");
  if (!existsSync(exe)) throw new TypeScriptResolutionError(`native TypeScript compiler not found at ${exe}`);
  return exe;
}
