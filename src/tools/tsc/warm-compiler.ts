// One request through the warm path: interpret the command line, pick (or start) the target's
// builder, compile, fold outputs, optionally verify against a cold build, write every output.
import { dirname } from "node:path";
import type * as TS from "typescript";
import type { ToolJob } from "../../tool-api/define-tool.js";
import { compile, type CompileConfig, type EmittedFile } from "./compile.js";
import { createHash, createWarmCompilerHost, ProbeLog, SourceFileCache } from "./compiler-host.js";
import { planCommand } from "./command-line.js";
import { formatDiagnostics } from "./diagnostics.js";
import { declaredInputsView, openFileView, type FileView } from "./file-view.js";
import { updateOutputs, writeOutputs } from "./outputs.js";
import { heapUsedBytes, newEntry, type ProgramCache } from "./program-cache.js";
import { programKey, targetId } from "./program-key.js";
import { loadTypeScript, type ResolvedTypeScript } from "./resolve-typescript.js";
import { emitsDeclarations, type TypeScriptApi } from "./typescript-api.js";
import { diffResults, type VerifySampler } from "./verify.js";

export interface WarmStats {
  requests: number;
  /** Requests that reused an existing builder. */
  warm: number;
  verified: number;
  verifyFailures: number;
}

export interface WarmContext {
  readonly cache: ProgramCache;
  readonly sampler: VerifySampler;
  readonly stats: WarmStats;
}

export type WarmOutcome =
  | { readonly kind: "done"; readonly exitCode: number; readonly output: string; readonly notes: readonly string[] }
  | { readonly kind: "cold"; readonly reason: string };

export class CancelledError extends Error {
  override readonly name = "CancelledError";
}

function cancellationToken(ts: TypeScriptApi, signal: AbortSignal): TS.CancellationToken {
  return {
    isCancellationRequested: () => signal.aborted,
    throwIfCancellationRequested: () => {
      if (signal.aborted) throw new ts.OperationCanceledException();
    },
  };
}

function makeView(ts: TypeScriptApi, job: ToolJob): FileView {
  if (job.inputs.length === 0) return openFileView(ts, job.cwd);
  const libDir = dirname(ts.getDefaultLibFilePath({}));
  return declaredInputsView(ts, job.cwd, job.inputs, [libDir]);
}

/** A compilation from scratch with nothing shared, for verify mode. Writes nothing. */
function coldCompile(ts: TypeScriptApi, job: ToolJob, view: FileView, config: CompileConfig, token: TS.CancellationToken) {
  const host = createWarmCompilerHost(
    { ts, view, cwd: job.cwd, options: config.options, sources: new SourceFileCache(), probes: new ProbeLog(), shareLibFiles: false },
    () => undefined,
  );
  const outcome = compile(ts, config, host, undefined, token);
  return { outputs: outcome.emitted, diagnostics: formatDiagnostics(ts, outcome.diagnostics, job.cwd), exitCode: outcome.exitCode };
}

export function runWarm(
  context: WarmContext,
  resolved: ResolvedTypeScript,
  args: readonly string[],
  job: ToolJob,
  signal: AbortSignal,
  verifyRate: number,
): WarmOutcome {
  const ts = loadTypeScript(resolved);
  const view = makeView(ts, job);
  const plan = planCommand(ts, resolved.major, args, job.cwd, view);
  if (plan.kind === "cold") return plan;
  if (plan.kind === "result") return { kind: "done", exitCode: plan.exitCode, output: plan.output, notes: [] };

  const { cache, stats } = context;
  const notes: string[] = [];
  const config = plan.config;
  const id = targetId(job.cwd, resolved, args, view.restricted);
  const key = programKey(resolved, config);
  const hash = createHash(ts);
  stats.requests++;

  // A .tsbuildinfo records the builder's history (signatures computed to propagate a change, the
  // latest changed .d.ts), so for some configurations a warm builder writes different bytes than
  // tsc would. There the builder starts fresh (see docs/tsc.md, "Incremental projects").
  const buildInfo = ts.getTsBuildInfoEmitOutputFilePath(config.options) !== undefined;
  const historyInBuildInfo = buildInfo && (!emitsDeclarations(ts, config.options) || !!config.options.composite);

  let entry = cache.get(id);
  if (historyInBuildInfo) {
    notes.push("cold: .tsbuildinfo of this configuration would record warm history (no declarations, or composite)");
    entry = newEntry(id, key);
  } else if (entry === undefined) {
    notes.push("cold: first request for this target in this process");
    entry = newEntry(id, key);
  } else if (entry.programKey !== key) {
    notes.push("cold: compiler options or root files changed");
    entry = newEntry(id, key);
  } else {
    // Anything module resolution looked at (file existence, package.json, directories) changed:
    // resolution could differ, so start over rather than trust reused resolutions.
    const change = entry.probes.firstChange(view, hash);
    if (change !== undefined) {
      notes.push(`cold: file system changed where module resolution looked (${change})`);
      entry = newEntry(id, key);
    } else {
      stats.warm++;
      notes.push("warm: reusing the previous builder");
    }
  }
  const isNew = entry.builder === undefined;
  const heapBefore = heapUsedBytes();
  const token = cancellationToken(ts, signal);
  const host = createWarmCompilerHost(
    { ts, view, cwd: job.cwd, options: config.options, sources: entry.sources, probes: entry.probes, shareLibFiles: true },
    () => undefined,
  );

  let outcome;
  try {
    outcome = compile(ts, config, host, entry.builder, token);
    if (buildInfo && outcome.emitSkipped && entry.builder !== undefined) {
      // Emit skipped (noEmitOnError): the warm .tsbuildinfo would hold signatures a cold run never
      // computes. Redo this request from scratch; its builder is a faithful base for the next one.
      notes.push("cold: emit skipped with a .tsbuildinfo configured; recompiled from scratch");
      entry = newEntry(id, key);
      const freshHost = createWarmCompilerHost(
        { ts, view, cwd: job.cwd, options: config.options, sources: entry.sources, probes: entry.probes, shareLibFiles: true },
        () => undefined,
      );
      outcome = compile(ts, config, freshHost, undefined, token);
    }
  } catch (err) {
    // A builder interrupted midway may have been half-updated: never reuse it.
    cache.delete(id);
    if (err instanceof ts.OperationCanceledException) throw new CancelledError("tsc was cancelled");
    throw err;
  }
  entry.builder = outcome.builder;
  const program = outcome.builder.getProgram();
  // Parsed files the program no longer uses would otherwise accumulate over a long session.
  for (const fileName of entry.sources.files.keys()) {
    if (program.getSourceFile(fileName) === undefined) entry.sources.files.delete(fileName);
  }
  const toWrite: ReadonlyMap<string, EmittedFile> = updateOutputs(entry.outputs, outcome, program);
  const diagnostics = formatDiagnostics(ts, outcome.diagnostics, job.cwd);

  if (context.sampler.next(verifyRate)) {
    stats.verified++;
    const cold = coldCompile(ts, job, view, config, token);
    const diff = diffResults({ outputs: toWrite, diagnostics, exitCode: outcome.exitCode }, cold);
    if (diff.length > 0) {
      stats.verifyFailures++;
      cache.delete(id);
      return {
        kind: "done",
        exitCode: 1,
        output:
          diagnostics +
          "worker-bridge: tsc: STALE WARM STATE — the warm result differs from a cold compilation of the same request " +
          "(--verify-rate). The warm state for this target was dropped; please report this with the diff below.\n" +
          diff.map((l) => `  ${l}\n`).join(""),
        notes,
      };
    }
    notes.push("verify: warm result equals a cold compilation");
  }

  writeOutputs(toWrite, job.cwd);
  if (isNew) entry.approxBytes = Math.max(0, heapUsedBytes() - heapBefore);
  cache.set(entry);
  const evicted = cache.enforceBudget(id);
  if (evicted > 0) notes.push(`memory: evicted ${evicted} least recently used target(s) to stay under the heap budget`);
  notes.push(`heap: ${Math.round(heapUsedBytes() / 2 ** 20)} MiB used, ${cache.size} warm target(s), max seen ${Math.round(cache.maxHeapSeen / 2 ** 20)} MiB`);
  return { kind: "done", exitCode: outcome.exitCode, output: diagnostics, notes };
}
