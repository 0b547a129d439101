// Which TypeScript compiles a request: the one the project being built depends on (found in a
// node_modules directory at or above the project), else the one worker-bridge itself depends on.
// Paths are never realpath'd: in a Bazel sandbox every file is a symlink and the link's location
// is what identifies it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
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

const loaded = new Map<string, { readonly dir: string; readonly api: TypeScriptApi }>();

/** Loads the JavaScript compiler API (5.x/6.x) once per package directory and version. */
export function loadTypeScript(ts: ResolvedTypeScript): TypeScriptApi {
  const key = `${ts.dir}@${ts.version}`;
  const known = loaded.get(key);
  if (known !== undefined) return known.api;
  const require = createRequire(join(ts.dir, "package.json"));
  forgetVanished(require.cache);
  const api = require(ts.dir) as TypeScriptApi;
  if (typeof api.createEmitAndSemanticDiagnosticsBuilderProgram !== "function") {
    throw new TypeScriptResolutionError(`${ts.dir} (TypeScript ${ts.version}) does not expose the JavaScript compiler API`);
  }
  loaded.set(key, { dir: ts.dir, api });
  return api;
}

/**
 * Drops compilers whose package directory is gone. When TypeScript is an action input, every
 * sandbox or remote build directory brings its own copy, and a long-lived process (a daemon's tool
 * process) would otherwise keep each one loaded, tens of MB apiece, after its directory was deleted
 * and nothing could use it again.
 */
function forgetVanished(requireCache: NodeJS.Require["cache"]): void {
  for (const [key, entry] of loaded) {
    if (existsSync(entry.dir)) continue;
    loaded.delete(key);
    const prefix = entry.dir.endsWith(sep) ? entry.dir : entry.dir + sep;
    for (const id of Object.keys(requireCache)) if (id.startsWith(prefix)) delete requireCache[id];
  }
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
