// One compilation with a builder program, collecting diagnostics in the same order and with the
// same short-circuits as tsc's `emitFilesAndReportErrors`, using only the public API.
import type * as TS from "typescript";
import { exitStatus } from "./diagnostics.js";
import { emitsDeclarations, type TypeScriptApi } from "./typescript-api.js";

/** What tsc would have written for one output file. */
export interface EmittedFile {
  readonly text: string;
  readonly writeByteOrderMark: boolean;
  /** Source files this output was produced from (empty for .tsbuildinfo). */
  readonly sources: readonly string[];
}

export interface CompileConfig {
  readonly rootNames: readonly string[];
  readonly options: TS.CompilerOptions;
  readonly projectReferences: readonly TS.ProjectReference[] | undefined;
  readonly configFileParsingDiagnostics: readonly TS.Diagnostic[];
}

export interface CompileOutcome {
  readonly builder: TS.EmitAndSemanticDiagnosticsBuilderProgram;
  readonly diagnostics: readonly TS.Diagnostic[];
  readonly emitSkipped: boolean;
  /** Files written by this emit only (a warm builder re-emits only what changed). */
  readonly emitted: ReadonlyMap<string, EmittedFile>;
  readonly exitCode: number;
}

export function compile(
  ts: TypeScriptApi,
  config: CompileConfig,
  host: TS.CompilerHost,
  oldBuilder: TS.EmitAndSemanticDiagnosticsBuilderProgram | undefined,
  cancellationToken: TS.CancellationToken,
): CompileOutcome {
  const builder = ts.createEmitAndSemanticDiagnosticsBuilderProgram(
    config.rootNames,
    config.options,
    host,
    oldBuilder,
    config.configFileParsingDiagnostics,
    config.projectReferences,
  );
  const options = builder.getCompilerOptions();
  const all: TS.Diagnostic[] = [...builder.getConfigFileParsingDiagnostics()];
  const configCount = all.length;
  all.push(...builder.getSyntacticDiagnostics(undefined, cancellationToken));
  if (all.length === configCount) {
    all.push(...builder.getOptionsDiagnostics(cancellationToken));
    all.push(...builder.getGlobalDiagnostics(cancellationToken));
    if (all.length === configCount) all.push(...builder.getSemanticDiagnostics(undefined, cancellationToken));
    if (options.noEmit && emitsDeclarations(ts, options) && all.length === configCount) {
      all.push(...builder.getDeclarationDiagnostics(undefined, cancellationToken));
    }
  }
  const emitted = new Map<string, EmittedFile>();
  const writeFile: TS.WriteFileCallback = (fileName, text, writeByteOrderMark, _onError, sourceFiles) => {
    emitted.set(fileName, { text, writeByteOrderMark, sources: (sourceFiles ?? []).map((sf) => sf.fileName) });
  };
  const emitResult = builder.emit(undefined, writeFile, cancellationToken);
  all.push(...emitResult.diagnostics);
  const diagnostics = ts.sortAndDeduplicateDiagnostics(all);
  return {
    builder,
    diagnostics,
    emitSkipped: emitResult.emitSkipped,
    emitted,
    exitCode: exitStatus(emitResult.emitSkipped, diagnostics.length),
  };
}
