// Diagnostics exactly as `tsc` prints them when its stdout is not a terminal (the case under every
// build system): `file(line,col): error TSnnnn: message`, paths relative to the current directory,
// no summary line.
import type * as TS from "typescript";
import type { TypeScriptApi } from "./typescript-api.js";

export function formatDiagnostics(ts: TypeScriptApi, diagnostics: readonly TS.Diagnostic[], cwd: string): string {
  const caseSensitive = ts.sys.useCaseSensitiveFileNames;
  const host: TS.FormatDiagnosticsHost = {
    getCurrentDirectory: () => cwd,
    getCanonicalFileName: (f) => (caseSensitive ? f : f.toLowerCase()),
    getNewLine: () => ts.sys.newLine,
  };
  return ts.formatDiagnostics(diagnostics, host);
}

/** tsc's ExitStatus: 0 success, 1 diagnostics and outputs skipped, 2 diagnostics and outputs generated. */
export function exitStatus(emitSkipped: boolean, diagnosticCount: number): number {
  if (emitSkipped && diagnosticCount > 0) return 1;
  if (diagnosticCount > 0) return 2;
  return 0;
}
