// TypeScript 7 kept warm through its own incremental state. Per target: tsgo runs with
// `--incremental --tsBuildInfoFile <state>` (not `-b`, which trusts timestamps) in a stable
// directory — a mirror of the declared inputs, or the request directory itself when the build
// system declares none — and every output it has produced is kept by the worker and written to
// the request directory on every request (build systems delete outputs; `--incremental` never
// restores them). Anything that cannot be trusted sends the target back to a cold compile.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { ToolJob } from "../../../tool-api/define-tool.js";
import { directoryBytes, STATE_FORMAT, type StateStore, type TargetEntry, type TargetMeta } from "./state-dir.js";
import { mirrorablePath, syncMirror } from "./mirror.js";
import { planNative, type NativePlan } from "./project-options.js";
import { runTsgo } from "./run-tsgo.js";

export interface NativeContext {
  readonly store: StateStore;
  /** Threads tsgo may use (GOMAXPROCS and its checker count). */
  readonly threads: number;
  /** One line to the bridge's log (never to the request's output). */
  readonly log: (line: string) => void;
  /** Targets that cannot be kept warm (outputs outside their directory): always cold. */
  readonly coldTargets: Set<string>;
}

export type NativeOutcome =
  | { readonly kind: "done"; readonly exitCode: number; readonly output: string; readonly notes: readonly string[] }
  | { readonly kind: "cold"; readonly reason: string };

const CANCELLED: NativeOutcome = { kind: "done", exitCode: 1, output: "tsc was cancelled\n", notes: [] };

/** tsgo's flags for a thread budget: one thread is its single-threaded mode. */
export function threadArgs(threads: number): string[] {
  return threads <= 1 ? ["--singleThreaded"] : ["--checkers", String(threads)];
}

function readBuildInfo(path: string): { version: string; fileNames: string[] } | undefined {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown; fileNames?: unknown };
    if (typeof value.version !== "string" || !Array.isArray(value.fileNames)) return undefined;
    return { version: value.version, fileNames: value.fileNames.filter((f): f is string => typeof f === "string") };
  } catch {
    return undefined;
  }
}

/**
 * Puts a kept output at its place in the request directory. A hard link costs one system call
 * where a copy costs many (a build writes hundreds of outputs); it is safe because the kept file
 * is never written again — the next compile's version replaces it by rename. An output that
 * contains the compile directory's path gets that path replaced by the request's, in a copy.
 * Returns false if the kept file is gone.
 */
function handOut(from: string, to: string, leak: Buffer | undefined, replacement: Buffer, ensureDir: (d: string) => void): boolean {
  if (leak !== undefined) {
    let data: Buffer;
    try {
      data = readFileSync(from);
    } catch {
      return false;
    }
    ensureDir(dirname(to));
    rmSync(to, { force: true });
    writeFileSync(to, replaceAll(data, leak, replacement));
    return true;
  }
  for (let attempt = 0; ; attempt++) {
    try {
      linkSync(from, to);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt > 2) throw err;
      if (code === "EEXIST") rmSync(to, { force: true });
      else if (code === "ENOENT") {
        if (!existsSync(from)) return false;
        ensureDir(dirname(to));
      } else {
        // Another file system, or links not allowed: a copy.
        if (!existsSync(from)) return false;
        ensureDir(dirname(to));
        rmSync(to, { force: true });
        copyFileSync(from, to);
        return true;
      }
    }
  }
}

/**
 * In-place mode: an output still present with the kept file's size is what tsgo wrote there;
 * a missing one (deleted by the build system) is copied back. Returns false if the kept file is gone.
 */
function restore(from: string, to: string, ensureDir: (d: string) => void): boolean {
  let kept;
  try {
    kept = statSync(from);
  } catch {
    return false;
  }
  try {
    if (statSync(to).size === kept.size) return true;
  } catch {
    /* deleted: restore it */
  }
  ensureDir(dirname(to));
  rmSync(to, { force: true });
  copyFileSync(from, to);
  return true;
}

function replaceAll(data: Buffer, from: Buffer, to: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = data.indexOf(from); i !== -1; i = data.indexOf(from, at)) {
    parts.push(data.subarray(at, i), to);
    at = i + from.length;
  }
  parts.push(data.subarray(at));
  return Buffer.concat(parts);
}

const within = (rel: string): boolean => rel !== "" && !isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`);

export async function runNativeWarm(
  ctx: NativeContext,
  exe: string,
  version: string,
  args: readonly string[],
  job: ToolJob,
  signal: AbortSignal,
): Promise<NativeOutcome> {
  const mirrored = job.inputs.length > 0;
  if (mirrored && job.inputs.some((i) => mirrorablePath(i.path) === undefined)) {
    return { kind: "cold", reason: "a declared input is outside the request directory" };
  }
  const key = JSON.stringify({ format: STATE_FORMAT, exe, version, mode: mirrored ? "mirror" : "in-place", cwd: mirrored ? null : job.cwd, args });
  if (ctx.coldTargets.has(key)) return { kind: "cold", reason: "outputs outside the request directory" };
  const env = { ...job.env, GOMAXPROCS: String(ctx.threads) };
  const opened = ctx.store.open(key);
  if (opened.kind === "busy") return { kind: "cold", reason: `target is being compiled by process ${opened.pid}` };
  const { entry } = opened;
  const label = `${entry.dir} (${args.join(" ")})`;
  if (opened.discarded !== undefined) ctx.log(`worker-bridge: tsc: discarded the TypeScript 7 state of ${label}: ${opened.discarded}; compiling cold`);
  try {
    const planStart = performance.now();
    const planKey = mirrored ? configKey(args, job) : "";
    let plan: NativePlan;
    if (planKey !== "" && opened.meta?.planKey === planKey) {
      plan = { kind: "warm", optionsHash: opened.meta.optionsHash };
    } else {
      plan = await planNative(exe, args, job.cwd, env, signal);
    }
    const planMs = performance.now() - planStart;
    const aborted = signal.aborted;
    if (aborted || plan.kind === "cold") {
      // An entry that never held a build is not left behind (it would look damaged next time).
      if (opened.meta === undefined) ctx.store.discard(entry);
      else ctx.store.release(entry);
      // A cancelled --showConfig also reads as "cold": the request is over, no cold compile follows.
      return aborted || plan.kind !== "cold" ? CANCELLED : plan;
    }
    return await compile(ctx, entry, opened.meta, { exe, version, args, job, signal, env, mirrored, key, optionsHash: plan.optionsHash, planKey, label, planMs }, true);
  } catch (err) {
    ctx.store.discard(entry);
    throw err;
  }
}

/**
 * What tsgo's view of the configuration can depend on when it sees only the declared inputs: the
 * arguments, which files exist (globs), and the content of the JSON files (tsconfig.json, its
 * `extends`, package.json). Unchanged, the last `--showConfig` answer still holds. "" when the
 * build system sent no digests to tell.
 */
function configKey(args: readonly string[], job: ToolJob): string {
  const hash = createHash("sha256").update(JSON.stringify(args));
  for (const input of [...job.inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (input.digest.length === 0) return "";
    hash.update("\0").update(input.path);
    if (input.path.endsWith(".json")) hash.update("\0").update(input.digest);
  }
  return hash.digest("hex");
}

interface Request {
  readonly exe: string;
  readonly version: string;
  readonly args: readonly string[];
  readonly job: ToolJob;
  readonly signal: AbortSignal;
  readonly env: Record<string, string>;
  readonly mirrored: boolean;
  readonly key: string;
  readonly optionsHash: string;
  readonly planKey: string;
  readonly label: string;
  readonly planMs: number;
}

/** Why the previous run's state cannot be built on, or undefined if it can. */
function inconsistency(entry: TargetEntry, meta: TargetMeta, version: string, store: string): string | undefined {
  const info = readBuildInfo(entry.buildInfoPath);
  if (info === undefined) return "its .tsbuildinfo is missing or unreadable";
  if (info.version !== version) return `its .tsbuildinfo is from TypeScript ${info.version}`;
  const missing = meta.outputs.find((rel) => !existsSync(join(store, rel)));
  if (missing !== undefined) return `its copy of output ${missing} is missing`;
  return undefined;
}

async function compile(
  ctx: NativeContext,
  entry: TargetEntry,
  previous: TargetMeta | undefined,
  r: Request,
  mayRetry: boolean,
): Promise<NativeOutcome> {
  const { job, mirrored } = r;
  const notes: string[] = [];
  const compileDir = mirrored ? entry.treeDir : job.cwd;
  const store = entry.outDir;
  let meta = previous;
  let mirrorRecord = meta?.inputs ?? {};
  if (meta !== undefined && meta.optionsHash !== r.optionsHash) {
    notes.push("options or root files changed: compiled cold");
    forget(entry);
    meta = undefined;
  }
  if (meta !== undefined) {
    const why = inconsistency(entry, meta, r.version, store);
    if (why !== undefined) {
      ctx.log(`worker-bridge: tsc: discarded the TypeScript 7 state of ${r.label}: ${why}; compiling cold`);
      ctx.store.reset(entry);
      meta = undefined;
      mirrorRecord = {};
    }
  }
  if (meta === undefined) rmSync(entry.buildInfoPath, { force: true });
  const previousOutputs = new Set(meta?.outputs ?? []);
  const t0 = performance.now();
  let inputs: TargetMeta["inputs"] = {};
  if (mirrored) {
    mkdirSync(entry.treeDir, { recursive: true });
    const synced = syncMirror(entry.treeDir, job.cwd, job.inputs, mirrorRecord, (rel) => previousOutputs.has(rel));
    inputs = synced.record;
    const s = synced.stats;
    notes.push(`mirror: ${s.unchanged} unchanged, ${s.linked} linked, ${s.copied} copied, ${s.removed} removed`);
  }
  const tsgoArgs = [
    ...(mirrored ? r.args.map((a) => (a === job.cwd || a.startsWith(job.cwd + sep) ? compileDir + a.slice(job.cwd.length) : a)) : r.args),
    "--incremental",
    "--tsBuildInfoFile",
    entry.buildInfoPath,
    "--listEmittedFiles",
    ...threadArgs(ctx.threads),
  ];
  const t1 = performance.now();
  // PWD lets tsgo name its directory as given rather than resolved through symlinks.
  const result = await runTsgo(r.exe, tsgoArgs, compileDir, { ...r.env, PWD: compileDir }, r.signal);
  const t2 = performance.now();
  if (result.kind === "cancelled") {
    // tsgo may have written half of its outputs and no .tsbuildinfo: nothing here is trustworthy.
    ctx.store.discard(entry);
    return CANCELLED;
  }
  if (result.kind === "killed") {
    ctx.store.discard(entry);
    return { kind: "done", exitCode: 1, output: `${result.output}${r.exe} was terminated by ${result.signal}\n`, notes };
  }
  const emitted: string[] = [];
  let output = result.output.replace(/^TSFILE: (.*)\r?\n/gm, (_m, p: string) => {
    emitted.push(p);
    return "";
  });
  if (mirrored) output = output.split(compileDir).join(job.cwd);
  let real: string | undefined;
  const realCompileDir = (): string => (real ??= realpathSync(compileDir));
  const outputs = new Set(previousOutputs);
  const fresh = new Set<string>();
  for (const p of emitted) {
    if (p === entry.buildInfoPath) continue;
    let rel = relative(compileDir, p);
    if (!within(rel)) rel = relative(realCompileDir(), p);
    if (!within(rel)) {
      ctx.coldTargets.add(r.key);
      ctx.store.discard(entry);
      return { kind: "cold", reason: `tsgo wrote ${p}, outside the compile directory` };
    }
    outputs.add(rel);
    fresh.add(rel);
  }
  const info = readBuildInfo(entry.buildInfoPath);
  if (info === undefined) {
    // tsgo stopped before compiling (a configuration error): its answer stands, nothing is kept.
    ctx.store.discard(entry);
    if (emitted.length > 0) return { kind: "cold", reason: "tsgo emitted without writing its .tsbuildinfo" };
    return { kind: "done", exitCode: result.exitCode, output, notes };
  }
  if (meta !== undefined && mayRetry) {
    const now = new Set(info.fileNames);
    const gone = meta.fileNames.find((f) => !now.has(f));
    if (gone !== undefined) {
      // Outputs of a file that left the program would linger; a cold compile has exactly the right set.
      ctx.store.reset(entry);
      const again = await compile(ctx, entry, undefined, r, false);
      if (again.kind === "done") return { ...again, notes: [`${gone} left the program: compiled cold`, ...again.notes] };
      return again;
    }
  }
  const leaky = new Set(meta?.leaky ?? []);
  const dirs = new Set<string>();
  const ensureDir = (d: string): void => {
    if (!dirs.has(d)) {
      mkdirSync(d, { recursive: true });
      dirs.add(d);
    }
  };
  const leak = Buffer.from(compileDir);
  for (const rel of fresh) {
    const to = join(store, rel);
    ensureDir(dirname(to));
    if (mirrored) {
      // Moved out of the tree: tsgo never writes into a file the worker has handed out, and the
      // next compile does not see old outputs lying around (a sandbox would not have them).
      if (readFileSync(join(compileDir, rel)).includes(leak)) leaky.add(rel);
      else leaky.delete(rel);
      renameSync(join(compileDir, rel), to);
    } else {
      rmSync(to, { force: true });
      copyFileSync(join(job.cwd, rel), to);
    }
  }
  const tMoved = performance.now();
  // Exit code 1 means tsc skipped some emit: all of it (noEmitOnError, errors before emit), or only
  // a declaration file its declaration emit rejected while the other files were written. Which
  // outputs a cold tsc writes then is exactly what a cold compile emits, so a warm state compiles
  // cold and a cold compile hands out what it emitted, nothing kept from before.
  if (result.exitCode === 1 && meta !== undefined && mayRetry) {
    ctx.store.reset(entry);
    const again = await compile(ctx, entry, undefined, r, false);
    if (again.kind === "done") return { ...again, notes: ["tsgo skipped emitting part of the program: compiled cold", ...again.notes] };
    return again;
  }
  if (result.exitCode !== 1 || fresh.size > 0) {
    for (const rel of result.exitCode === 1 ? fresh : outputs) {
      if (!mirrored && fresh.has(rel)) continue;
      const from = join(store, rel);
      const to = join(job.cwd, rel);
      const written = mirrored ? handOut(from, to, leaky.has(rel) ? leak : undefined, Buffer.from(job.cwd), ensureDir) : restore(from, to, ensureDir);
      if (!written) {
        ctx.log(`worker-bridge: tsc: discarded the TypeScript 7 state of ${r.label}: output ${rel} vanished; compiling cold`);
        ctx.store.reset(entry);
        if (!mayRetry) throw new Error(`tsgo output ${from} vanished during a cold compile`);
        return compile(ctx, entry, undefined, r, false);
      }
    }
  }
  const t3 = performance.now();
  notes.push(`${previous === undefined || meta === undefined ? "cold" : "warm"}: tsgo emitted ${fresh.size} file(s), ${outputs.size} output(s) kept`);
  ctx.store.commit(
    entry,
    { format: STATE_FORMAT, key: r.key, optionsHash: r.optionsHash, planKey: r.planKey, inputs, outputs: [...outputs].sort(), leaky: [...leaky].sort(), fileNames: info.fileNames },
    meta === undefined ? directoryBytes(entry.dir) : undefined,
  );
  ctx.store.evict();
  const ms = (a: number, b: number): string => (b - a).toFixed(0);
  notes.push(
    `times (ms): config ${r.planMs.toFixed(0)}, mirror ${ms(t0, t1)}, tsgo ${ms(t1, t2)}, kept ${ms(t2, tMoved)}, outputs ${ms(tMoved, t3)}, state ${ms(t3, performance.now())}`,
  );
  return { kind: "done", exitCode: result.exitCode, output, notes };
}

/** Drops the build state but keeps the mirrored inputs (they are still right). */
function forget(entry: TargetEntry): void {
  rmSync(entry.buildInfoPath, { force: true });
  rmSync(entry.outDir, { recursive: true, force: true });
}
