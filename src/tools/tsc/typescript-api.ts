// The TypeScript compiler API as this tool uses it. The module is loaded at run time from the
// project being built, so its type is the shape of the version we compile against (5.9); 6.0
// keeps the same public surface for everything used here (see test/tsc/versions.test.ts).
import type * as TS from "typescript";

export type TypeScriptApi = typeof TS;

/**
 * The few non-public functions the tool relies on, all present in 5.x and 6.x. They are looked up
 * defensively in one place so a compiler upgrade that drops one fails with a clear message instead
 * of a silent behaviour change.
 */
interface InternalApi {
  convertToOptionsWithAbsolutePaths?(options: TS.CompilerOptions, toAbsolutePath: (path: string) => string): TS.CompilerOptions;
  getSourceFileVersionAsHashFromText?(host: { createHash?(data: string): string }, text: string): string;
  getNormalizedAbsolutePath?(fileName: string, currentDirectory: string): string;
  getEmitDeclarations?(options: TS.CompilerOptions): boolean;
  normalizePath?(path: string): string;
  getNewLineCharacter?(options: TS.CompilerOptions): string;
  createCompilerDiagnostic?(message: TS.DiagnosticMessage, ...args: string[]): TS.Diagnostic;
  Diagnostics?: Record<string, TS.DiagnosticMessage>;
}

export class TypeScriptApiError extends Error {
  override readonly name = "TypeScriptApiError";
}

function internals(ts: TypeScriptApi): InternalApi {
  return ts as unknown as InternalApi;
}

/** tsc makes every path-valued command-line option absolute against the current directory. */
export function optionsWithAbsolutePaths(ts: TypeScriptApi, options: TS.CompilerOptions, cwd: string): TS.CompilerOptions {
  const convert = internals(ts).convertToOptionsWithAbsolutePaths;
  const absolute = internals(ts).getNormalizedAbsolutePath;
  if (typeof convert !== "function" || typeof absolute !== "function") {
    throw new TypeScriptApiError(
      `TypeScript ${ts.version} lacks convertToOptionsWithAbsolutePaths/getNormalizedAbsolutePath; worker-bridge supports TypeScript 5.x and 6.x in-process`,
    );
  }
  return convert(options, (p) => absolute(p, cwd));
}

/**
 * The version string tsc's incremental host stores for a file (a hash of its text, ignoring a
 * trailing sourceMappingURL). Using the same function keeps .tsbuildinfo byte-identical to tsc's.
 */
export function sourceFileVersion(ts: TypeScriptApi, text: string, createHash: (data: string) => string): string {
  const fn = internals(ts).getSourceFileVersionAsHashFromText;
  return typeof fn === "function" ? fn({ createHash }, text) : createHash(text);
}

/** Whether the options make tsc emit declarations (the compiler's own rule when available). */
export function emitsDeclarations(ts: TypeScriptApi, options: TS.CompilerOptions): boolean {
  const fn = internals(ts).getEmitDeclarations;
  return typeof fn === "function" ? fn(options) : !!(options.declaration || options.composite);
}

function required<K extends keyof InternalApi>(ts: TypeScriptApi, name: K): NonNullable<InternalApi[K]> {
  const value = internals(ts)[name];
  if (value === undefined) {
    throw new TypeScriptApiError(`TypeScript ${ts.version} lacks ${name}; worker-bridge supports TypeScript 5.x and 6.x in-process`);
  }
  return value as NonNullable<InternalApi[K]>;
}

/** tsc's path normalisation (slashes, `.` and `..`, no trailing separator). */
export function normalizePath(ts: TypeScriptApi, path: string): string {
  return required(ts, "normalizePath")(path);
}

export function newLineFor(ts: TypeScriptApi, options: TS.CompilerOptions): string {
  return required(ts, "getNewLineCharacter")(options);
}

/** A compiler diagnostic by its message name, as tsc reports it; undefined if the message is unknown. */
export function compilerDiagnostic(ts: TypeScriptApi, messageName: string, ...args: string[]): TS.Diagnostic | undefined {
  const message = internals(ts).Diagnostics?.[messageName];
  if (message === undefined) return undefined;
  return required(ts, "createCompilerDiagnostic")(message, ...args);
}
