// Test harness for the tsc tool: runs the tool in-process, and runs the real tsc (its own
// `executeCommandLine`, in-process with a capturing System) as the cold reference.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as TS from "typescript";
import type { ToolInput, ToolJob } from "../../src/tool-api/define-tool.js";
import { createTscState, runTsc, type TscState } from "../../src/tools/tsc/index.js";
import { nativeCompilerPath, resolveTypeScript } from "../../src/tools/tsc/resolve-typescript.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const TS_DIRS = {
  "5.9": join(repoRoot, "node_modules", "typescript"),
  "6.0": join(repoRoot, "node_modules", "typescript-6.0"),
  "7": join(repoRoot, "node_modules", "typescript-7"),
  /** A 7.1 nightly: emits through its compiler API, so the tool keeps it warm in memory. */
  "7.1": join(repoRoot, "node_modules", "typescript-7.1-nightly"),
} as const;

const tsModules = new Map<string, typeof TS>();
export function loadTs(dir: string): typeof TS {
  let ts = tsModules.get(dir);
  if (!ts) {
    ts = createRequire(join(dir, "package.json"))(dir) as typeof TS;
    tsModules.set(dir, ts);
  }
  return ts;
}

export interface RunResult {
  exitCode: number;
  output: string;
  /** Output files by path relative to cwd, content as written. */
  files: Map<string, string>;
}

/**
 * Runs the real tsc in-process exactly as its CLI would, capturing stdout and written files.
 * Output directories are deleted first, as a build system does (else tsc would read an old
 * .tsbuildinfo).
 */
export function coldTsc(tsDir: string, cwd: string, args: readonly string[], outDirs: readonly string[], installedAt?: string): RunResult {
  for (const d of outDirs) rmSync(resolve(cwd, d), { recursive: true, force: true });
  const ts = loadTs(tsDir);
  let output = "";
  let exitCode = -1;
  const files = new Map<string, string>();
  const sys: TS.System = {
    ...ts.sys,
    // `installedAt`: a copy of the same TypeScript elsewhere, run as if from there (tsc finds its
    // default lib files next to the script it runs).
    ...(installedAt !== undefined ? { getExecutingFilePath: () => join(installedAt, "lib", "tsc.js") } : {}),
    args: [...args],
    getCurrentDirectory: () => cwd,
    // Relative paths must resolve against the fixture, not the test runner's cwd.
    readFile: (p, enc) => ts.sys.readFile(resolve(cwd, p), enc),
    fileExists: (p) => ts.sys.fileExists(resolve(cwd, p)),
    directoryExists: (p) => ts.sys.directoryExists(resolve(cwd, p)),
    write: (s) => {
      output += s;
    },
    writeOutputIsTTY: () => false,
    writeFile: (p, data, bom) => {
      files.set(relative(cwd, resolve(cwd, p)), bom ? "\uFEFF" + data : data);
    },
    exit: (code) => {
      exitCode = code ?? 0;
    },
  };
  const execute = (ts as unknown as { executeCommandLine(sys: TS.System, cb: () => void, args: readonly string[]): void }).executeCommandLine;
  execute(sys, () => undefined, args);
  return { exitCode, output, files };
}

/**
 * The TypeScript 7 reference: its native binary run once in `cwd`, as a build system would (it has
 * no in-process API). Output directories are deleted first.
 */
export function coldTsgo(tsDir: string, cwd: string, args: readonly string[], outDirs: readonly string[]): RunResult {
  for (const d of outDirs) rmSync(resolve(cwd, d), { recursive: true, force: true });
  const exe = nativeCompilerPath(resolveTypeScript(tsDir, tsDir, tsDir));
  const r = spawnSync(exe, [...args], { cwd, encoding: "utf8" });
  const files = new Map<string, string>();
  for (const d of outDirs) {
    for (const [p, c] of listFiles(resolve(cwd, d))) files.set(relative(cwd, p), c);
  }
  return { exitCode: r.status ?? -1, output: r.stdout + r.stderr, files };
}

export function listFiles(root: string, base = root, out = new Map<string, string>()): Map<string, string> {
  if (!existsSync(root)) return out;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) listFiles(p, base, out);
    else out.set(p, readFileSync(p, "utf8"));
  }
  return out;
}

export function job(cwd: string, args: readonly string[], inputs: readonly ToolInput[] = []): ToolJob {
  return { id: 0, args, inputs, cwd, env: {}, verbosity: 0 };
}

export async function warmTsc(state: TscState, j: ToolJob, outDirs: readonly string[]): Promise<RunResult> {
  for (const d of outDirs) rmSync(resolve(j.cwd, d), { recursive: true, force: true });
  const r = await runTsc(state, j, new AbortController().signal);
  const files = new Map<string, string>();
  for (const d of outDirs) {
    for (const [p, c] of listFiles(resolve(j.cwd, d))) files.set(relative(j.cwd, p), c);
  }
  return { exitCode: r.exitCode, output: r.output ?? "", files };
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

export { createTscState, runTsc };
