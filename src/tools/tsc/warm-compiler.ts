// One request through the warm path: interpret the command line, pick (or start) the target's
// builder, compile, fold outputs, optionally verify against a cold build, write every output.
import { existsSync } from "node:fs";
import type * as TS from "typescript";
import type { ToolJob } from "../../tool-api/define-tool.js";
import { compile, type CompileConfig, type EmittedFile } from "./compile.js";
import { createHash, createWarmCompilerHost, ProbeLog, SourceFileCache } from "./compiler-host.js";
import { planCommand } from "./command-line.js";
import { formatDiagnostics } from "./diagnostics.js";
import { declaredInputsView, mappedView, openFileView, type FileView } from "./file-view.js";
import { updateOutputs, writeOutputs } from "./outputs.js";
import { heapUsedBytes, newEntry, type ProgramCache, type RememberedResult, type TargetEntry } from "./program-cache.js";
import { compilerKey, placedTargetId, programKey, targetId } from "./program-key.js";
import { loadTypeScript, type ResolvedTypeScript } from "./resolve-typescript.js";
import { emitsDeclarations, type TypeScriptApi } from "./typescript-api.js";
import { diffResults, type VerifySampler } from "./verify.js";
import { directoryMap, type PathMap } from "./virtual-root.js";

export interface WarmStats {
  requests: number;
  /** Requests that reused an existing builder. */
  warm: number;
  verified: number;
  verifyFailures: number;
  /** Warm requests where nothing had changed (the previous result was reused whole). */
  unchanged?: number;
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

/** The request's files as the compiler sees them: under the stable virtual root of `map`. */
function makeView(ts: TypeScriptApi, job: ToolJob, map: PathMap, libDir: string): FileView {
  if (job.inputs.length === 0) return mappedView(openFileView(ts, job.cwd), map);
  return mappedView(declaredInputsView(ts, job.cwd, job.inputs, [libDir]), map);
}

/**
 * An absolute path on the command line, as the compiler sees it (also each element of a
 * comma-separated list such as `--rootDirs`). Whatever reaches text is mapped back on the way out.
 */
function virtualArg(arg: string, map: PathMap): string {
  if (!arg.includes("/")) return arg;
  return arg
    .split(",")
    .map((part) => (part.startsWith("/") ? map.toVirtual(part) : part))
    .join(",");
}

/** Records the text of every JSON file (tsconfig and what it extends) read while planning. */
function watchConfigTexts(view: FileView): { view: FileView; read: string[] } {
  const read: string[] = [];
  return {
    read,
    view: {
      ...view,
      readFile(path) {
        const text = view.readFile(path);
        if (text !== undefined && path.endsWith(".json")) read.push(text);
        return text;
      },
    },
  };
}

/** A compilation from scratch with nothing shared, for verify mode. Writes nothing. */
function coldCompile(ts: TypeScriptApi, libDir: string, map: PathMap, view: FileView, config: CompileConfig, token: TS.CancellationToken) {
  const host = createWarmCompilerHost(
    { ts, libDir, view, map, options: config.options, sources: new SourceFileCache(), probes: new ProbeLog(), shareLibFiles: false },
    () => undefined,
  );
  const outcome = compile(ts, config, host, undefined, token);
  return { outputs: outcome.emitted, diagnostics: formatDiagnostics(ts, outcome.diagnostics, map.cwd), exitCode: outcome.exitCode };
}

/** True when every file the previous program parsed still has the same digest or text. */
function sourcesUnchanged(entry: TargetEntry, view: FileView): boolean {
  for (const [fileName, cached] of entry.sources.files) {
    const token = view.token(fileName);
    if (token !== undefined) {
      if (token !== cached.token) return false;
      continue;
    }
    let text: string | undefined;
    try {
      text = view.readFile(fileName);
    } catch {
      return false;
    }
    if (text !== cached.file.text) return false;
  }
  return true;
}

export function runWarm(
  context: WarmContext,
  resolved: ResolvedTypeScript,
  args: readonly string[],
  job: ToolJob,
  signal: AbortSignal,
  verifyRate: number,
): WarmOutcome {
  // One instance per compiler identity, shared by every directory holding the same TypeScript;
  // its lib files are this request's own (compiler-identity.ts).
  const compiler = loadTypeScript(resolved);
  const { api: ts, libDir } = compiler;
  // The compiler works in a virtual directory that is the same for every sandbox of a target
  // (see virtual-root.ts); reads, writes and printed paths are mapped to the real directory.
  let map = directoryMap(job.cwd);
  let compilerArgs = map.virtual ? args.map((a) => virtualArg(a, map)) : args;
  let view = makeView(ts, job, map, libDir);
  const configTexts = watchConfigTexts(view);
  let plan = planCommand(ts, resolved.major, compilerArgs, map.cwd, configTexts.view);
  if (map.virtual && configTexts.read.some((text) => map.namesRealPath(text))) {
    // A tsconfig naming an absolute path inside the real directory tree would mix real and
    // virtual paths: such a project is compiled under its real paths.
    map = directoryMap(job.cwd, { virtual: false });
    compilerArgs = args;
    view = makeView(ts, job, map, libDir);
    plan = planCommand(ts, resolved.major, compilerArgs, map.cwd, view);
  }
  if (plan.kind === "cold") return plan;
  if (plan.kind === "result") return { kind: "done", exitCode: plan.exitCode, output: map.realText(plan.output), notes: [] };

  const { cache, stats } = context;
  const notes: string[] = [];
  const config = plan.config;
  const compilerId = compilerKey(compiler, map.toVirtual(libDir));
  const virtualId = targetId(map.cwd, compilerId, compilerArgs, view.restricted);
  const id = placedTargetId(virtualId, job.cwd);
  const key = programKey(compilerId, config);
  const configDiagnostics = formatDiagnostics(ts, config.configFileParsingDiagnostics, map.cwd);
  const hash = createHash(ts);
  const token = cancellationToken(ts, signal);
  stats.requests++;

  // A .tsbuildinfo records the builder's history (signatures computed to propagate a change, the
  // latest changed .d.ts), so for some configurations a warm builder writes different bytes than
  // tsc would. There the builder starts fresh (see docs/tsc.md, "Incremental projects").
  const buildInfo = ts.getTsBuildInfoEmitOutputFilePath(config.options) !== undefined;
  const historyInBuildInfo = buildInfo && (!emitsDeclarations(ts, config.options) || !!config.options.composite);

  let entry = cache.get(id);
  if (entry === undefined && !historyInBuildInfo) {
    // A new directory (sandbox, action directory): the same target's state from another one.
    entry = cache.adopt(id, virtualId, key, job.cwd, existsSync);
    if (entry !== undefined) notes.push("warm: state of the same target in another directory");
  }
  if (historyInBuildInfo) {
    notes.push("cold: .tsbuildinfo of this configuration would record warm history (no declarations, or composite)");
    entry = newEntry(id, virtualId, key, job.cwd);
  } else if (entry === undefined) {
    notes.push("cold: first request for this target in this process");
    entry = newEntry(id, virtualId, key, job.cwd);
  } else if (entry.programKey !== key) {
    notes.push("cold: compiler options or root files changed");
    entry = newEntry(id, virtualId, key, job.cwd);
  } else {
    // Anything module resolution looked at (file existence, package.json, directories) changed:
    // resolution could differ, so start over rather than trust reused resolutions.
    const change = entry.probes.firstChange(view, hash);
    if (change !== undefined) {
      notes.push(`cold: file system changed where module resolution looked (${map.realText(change)})`);
      entry = newEntry(id, virtualId, key, job.cwd);
    } else if (entry.last !== undefined && entry.last.configDiagnostics === configDiagnostics && sourcesUnchanged(entry, view)) {
      // Nothing the previous compilation depended on changed, so its result is this one's; every
      // output is written again from memory (build systems delete outputs before an action).
      stats.warm++;
      stats.unchanged = (stats.unchanged ?? 0) + 1;
      notes.push("warm: nothing changed since the previous request; outputs written from memory");
      return finish(context, { ts, libDir, map, view, config, token, id, verifyRate, notes }, entry, entry.last, false, 0);
    } else {
      stats.warm++;
      notes.push("warm: reusing the previous builder");
    }
  }
  const isNew = entry.builder === undefined;
  const heapBefore = heapUsedBytes();
  const host = createWarmCompilerHost(
    { ts, libDir, view, map, options: config.options, sources: entry.sources, probes: entry.probes, shareLibFiles: true },
    () => undefined,
  );

  let outcome;
  try {
    outcome = compile(ts, config, host, entry.builder, token);
    if (buildInfo && outcome.emitSkipped && entry.builder !== undefined) {
      // Emit skipped (noEmitOnError): the warm .tsbuildinfo would hold signatures a cold run never
      // computes. Redo this request from scratch; its builder is a faithful base for the next one.
      notes.push("cold: emit skipped with a .tsbuildinfo configured; recompiled from scratch");
      entry = newEntry(id, virtualId, key, job.cwd);
      const freshHost = createWarmCompilerHost(
        { ts, libDir, view, map, options: config.options, sources: entry.sources, probes: entry.probes, shareLibFiles: true },
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
  const result: RememberedResult = {
    outputs: updateOutputs(entry.outputs, outcome, program),
    diagnostics: formatDiagnostics(ts, outcome.diagnostics, map.cwd),
    exitCode: outcome.exitCode,
    configDiagnostics,
  };
  return finish(context, { ts, libDir, map, view, config, token, id, verifyRate, notes }, entry, result, isNew, heapBefore);
}

interface RequestContext {
  readonly ts: TypeScriptApi;
  /** The request's own default lib directory (real path). */
  readonly libDir: string;
  readonly map: PathMap;
  readonly view: FileView;
  readonly config: CompileConfig;
  readonly token: TS.CancellationToken;
  readonly id: string;
  readonly verifyRate: number;
  readonly notes: string[];
}

/** Verifies (when sampled), writes every output, remembers the result and keeps the cache in budget. */
function finish(
  context: WarmContext,
  request: RequestContext,
  entry: TargetEntry,
  result: RememberedResult,
  isNew: boolean,
  heapBefore: number,
): WarmOutcome {
  const { ts, libDir, map, view, config, token, id, notes } = request;
  const { cache, stats } = context;
  if (context.sampler.next(request.verifyRate)) {
    stats.verified++;
    const cold = coldCompile(ts, libDir, map, view, config, token);
    const diff = diffResults(result, cold);
    if (diff.length > 0) {
      stats.verifyFailures++;
      cache.delete(id);
      return {
        kind: "done",
        exitCode: 1,
        output:
          map.realText(result.diagnostics) +
          "worker-bridge: tsc: STALE WARM STATE — the warm result differs from a cold compilation of the same request " +
          "(--verify-rate). The warm state for this target was dropped; please report this with the diff below.\n" +
          diff.map((l) => `  ${map.realText(l)}\n`).join(""),
        notes,
      };
    }
    notes.push("verify: warm result equals a cold compilation");
  }

  writeOutputs(result.outputs, map);
  entry.last = result;
  if (isNew) entry.approxBytes = Math.max(0, heapUsedBytes() - heapBefore);
  cache.set(entry);
  const evicted = cache.enforceBudget(id);
  if (evicted > 0) notes.push(`memory: evicted ${evicted} least recently used target(s) to stay under the heap budget and target count`);
  notes.push(`heap: ${Math.round(heapUsedBytes() / 2 ** 20)} MiB used, ${cache.size} warm target(s), max seen ${Math.round(cache.maxHeapSeen / 2 ** 20)} MiB`);
  return { kind: "done", exitCode: result.exitCode, output: map.realText(result.diagnostics), notes };
}
