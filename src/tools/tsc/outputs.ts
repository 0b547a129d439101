// Build systems delete declared outputs before running an action, while a warm builder re-emits
// only what changed. So every output tsc would produce is remembered per target and written on
// every request.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type * as TS from "typescript";
import type { CompileOutcome, EmittedFile } from "./compile.js";
import { OutputStore } from "./output-store.js";
import type { PathMap } from "./virtual-root.js";

/** One per process: outputs are placed as hard links to copies kept here (see output-store.ts). */
const store = new OutputStore();

/**
 * Folds this request's emit into the target's remembered outputs and returns the files a cold tsc
 * would write now.
 */
export function updateOutputs(
  remembered: Map<string, EmittedFile>,
  outcome: CompileOutcome,
  program: TS.Program,
): ReadonlyMap<string, EmittedFile> {
  for (const [path, file] of outcome.emitted) remembered.set(path, file);
  // Outputs of files that left the program would not be produced by a cold build.
  for (const [path, file] of remembered) {
    if (file.sources.some((source) => program.getSourceFile(source) === undefined)) remembered.delete(path);
  }
  // When emit is skipped (noEmit, noEmitOnError with errors) tsc writes only what this emit wrote.
  return outcome.emitSkipped ? outcome.emitted : remembered;
}

/**
 * Output names are as tsc reports them (relative when the inputs were, virtual under `map`), so
 * they are resolved against the compiler's cwd and mapped to the real directory.
 */
export function writeOutputs(files: ReadonlyMap<string, EmittedFile>, map: PathMap): void {
  const made = new Set<string>();
  for (const [name, emitted] of files) {
    const path = map.toReal(name);
    const text = map.realText(emitted.text);
    const dir = dirname(path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    // Text that names the real directory differs per directory: no copy is kept for it.
    store.place(name, emitted.writeByteOrderMark ? "\uFEFF" + text : text, path, text === emitted.text ? emitted : undefined);
  }
  store.endRequest();
}
