// The TypeScript 7 compiler API (`typescript/sync`: a client in this process talking to the native
// compiler over pipes), loaded from the resolved TypeScript package. Only the calls the API back
// end uses are typed here. Whether an installed compiler has them is a feature test on the loaded
// module, never a version comparison: the 7.1 nightlies have emit through the API, 7.0 has no API.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A diagnostic as the API returns it (the fields the sort, the deduplication and the formatter read). */
export interface ApiDiagnostic {
  readonly fileName?: string;
  readonly pos: number;
  readonly end: number;
  readonly code: number;
  readonly category: number;
  readonly text: string;
  readonly messageChain?: readonly ApiDiagnostic[];
  readonly relatedInformation?: readonly ApiDiagnostic[];
}

export interface ApiEmitOutput {
  readonly emitSkipped: boolean;
  readonly diagnostics: readonly ApiDiagnostic[];
  readonly outputFiles: ReadonlyMap<string, { readonly text: string; readonly sourceFileName?: string }>;
}

export interface ApiProgram {
  getSourceFileNames(): readonly string[];
  getConfigFileParsingDiagnostics(): readonly ApiDiagnostic[];
  getProgramDiagnostics(): readonly ApiDiagnostic[];
  getGlobalDiagnostics(): readonly ApiDiagnostic[];
  getSyntacticDiagnostics(files?: readonly string[]): readonly ApiDiagnostic[];
  getSemanticDiagnostics(files?: readonly string[]): readonly ApiDiagnostic[];
  getDeclarationDiagnostics(files?: readonly string[]): readonly ApiDiagnostic[];
  emitToString(): ApiEmitOutput;
  getJavaScriptEmit(files: readonly string[]): ApiEmitOutput;
  getDeclarationEmit(files: readonly string[]): ApiEmitOutput;
}

export interface ApiSnapshot {
  getConfiguredProject(configFileName: string): { readonly program: ApiProgram } | undefined;
  update(params: { fileNotifications?: { changed?: string[]; created?: string[]; deleted?: string[] }; ensurePrograms?: true }): ApiSnapshot;
  dispose(): void;
}

export interface ApiConnection {
  createSnapshot(params: { openProjects: string[]; ensurePrograms: true }): ApiSnapshot;
  close(): void;
}

export interface FormatHost {
  getCurrentDirectory(): string;
  getCanonicalFileName(fileName: string): string;
  getNewLine(): string;
}

export interface CompilerApi {
  /** Starts the native compiler in API mode (`exe`), with `cwd` as its current directory. */
  connect(exe: string, cwd: string, threads: number): ApiConnection;
  formatDiagnostics(diagnostics: readonly ApiDiagnostic[], host: FormatHost): string;
}

/** Everything the back end calls; a package missing any of it cannot serve the API back end. */
const PROGRAM_CALLS = [
  "getSourceFileNames",
  "getConfigFileParsingDiagnostics",
  "getProgramDiagnostics",
  "getGlobalDiagnostics",
  "getSyntacticDiagnostics",
  "getSemanticDiagnostics",
  "getDeclarationDiagnostics",
  "emitToString",
  "getJavaScriptEmit",
  "getDeclarationEmit",
];

interface LoadedModule {
  API?: unknown;
  Program?: { prototype?: object };
  Snapshot?: { prototype?: object };
  formatDiagnostics?: unknown;
}

const loaded = new Map<string, Promise<CompilerApi | string>>();

/** The API of the TypeScript package in `dir`, or why it has none that can emit. */
export function loadCompilerApi(dir: string): Promise<CompilerApi | string> {
  let found = loaded.get(dir);
  if (found === undefined) {
    found = load(dir);
    loaded.set(dir, found);
  }
  return found;
}

async function load(dir: string): Promise<CompilerApi | string> {
  const entry = join(dir, "dist", "api", "sync", "api.js");
  if (!existsSync(entry)) return "this TypeScript has no compiler API (typescript/sync)";
  let mod: LoadedModule;
  try {
    mod = (await import(pathToFileURL(entry).href)) as LoadedModule;
  } catch (err) {
    return `its compiler API did not load: ${(err as Error).message}`;
  }
  const ctor = mod.API;
  const format = mod.formatDiagnostics;
  const program = mod.Program?.prototype;
  const snapshot = mod.Snapshot?.prototype;
  if (typeof ctor !== "function" || typeof format !== "function" || program === undefined || snapshot === undefined) {
    return "its compiler API lacks API, Program, Snapshot or formatDiagnostics";
  }
  const missing = PROGRAM_CALLS.find((name) => !(name in program));
  if (missing !== undefined) return `its compiler API cannot ${missing}`;
  if (!("update" in snapshot) || !("getConfiguredProject" in snapshot)) return "its compiler API cannot update snapshots";
  const Api = ctor as new (options: { tsserverPath: string; cwd: string }) => ApiConnection;
  return {
    connect(exe, cwd, threads) {
      // The compiler process inherits this process's environment when it is spawned (in the
      // constructor): its parallelism is the worker's share, as for a tsgo run.
      const before = process.env.GOMAXPROCS;
      process.env.GOMAXPROCS = String(threads);
      try {
        return new Api({ tsserverPath: exe, cwd });
      } finally {
        if (before === undefined) delete process.env.GOMAXPROCS;
        else process.env.GOMAXPROCS = before;
      }
    },
    formatDiagnostics: format as CompilerApi["formatDiagnostics"],
  };
}
