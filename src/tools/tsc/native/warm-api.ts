// TypeScript 7 kept warm through its compiler API (the 7.1 nightlies): per target, one compiler
// process in API mode holds the program in memory. After a change, only the affected files are
// checked and emitted again — the changed files, and every file when a changed file's declaration
// output changed (what another file can see of it) — and everything else (diagnostics and
// outputs) comes from memory. The answer is assembled as tsgo's command line assembles it (the
// same short-circuits, sort and deduplication, exit codes), so it equals a cold `tsgo -p`.
//
// The compiler sees a mirror of the declared inputs (as the TypeScript 7 back end does), so a new
// sandbox directory is the same target. Whatever this back end is not sure to answer exactly —
// arguments beyond `-p`, no digests, configuration or program-level diagnostics, outputs outside
// the directory, an API failure — is left to the tsgo back end (it returns "fallback").
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ToolJob } from "../../../tool-api/define-tool.js";
import type { OutputStore } from "../output-store.js";
import type { ApiConnection, ApiDiagnostic, ApiEmitOutput, ApiProgram, ApiSnapshot, CompilerApi } from "./api-client.js";
import { sortAndDeduplicate } from "./api-diagnostics.js";
import { mirrorablePath, place, syncMirror } from "./mirror.js";
import { planNative } from "./project-options.js";
import type { MirroredInput } from "./state-dir.js";
import { sweepDeadProcessDirs } from "../process-dirs.js";

export interface ApiContext {
  readonly sessions: ApiSessions;
  readonly outputs: OutputStore;
  readonly threads: number;
  readonly log: (line: string) => void;
}

export type ApiOutcome =
  | { readonly kind: "done"; readonly exitCode: number; readonly output: string; readonly notes: readonly string[] }
  | { readonly kind: "fallback"; readonly reason: string };

const CANCELLED: ApiOutcome = { kind: "done", exitCode: 1, output: "tsc was cancelled\n", notes: [] };

interface EmitOptions {
  readonly noEmit: boolean;
  readonly noEmitOnError: boolean;
  readonly emitDeclarations: boolean;
  readonly declarationOnly: boolean;
}

/** One output version; a new object whenever the text changes (the output store keys copies by it). */
interface Output {
  readonly text: string;
}

/** Where an output goes, worked out once per output name and request directory (paths are most of a warm request's CPU time). */
interface Placement {
  readonly cwd: string;
  readonly rel: string;
  readonly target: string;
  readonly dir: string;
}

interface Session {
  readonly key: string;
  /** The mirror of the declared inputs: the compiler's current directory. */
  readonly root: string;
  readonly configFile: string;
  readonly api: ApiConnection;
  snapshot: ApiSnapshot;
  program: ApiProgram;
  planKey: string;
  readonly options: EmitOptions;
  record: Record<string, MirroredInput>;
  fileNames: readonly string[];
  fileSet: Set<string>;
  readonly syntactic: Map<string, ApiDiagnostic[]>;
  readonly semantic: Map<string, ApiDiagnostic[]>;
  readonly declaration: Map<string, ApiDiagnostic[]>;
  global: ApiDiagnostic[];
  /** Every output by absolute path in the mirror, and which outputs each source file produces. */
  readonly outputs: Map<string, Output>;
  readonly bySource: Map<string, string[]>;
  readonly placements: Map<string, Placement>;
  /** False until a full emit succeeded (e.g. skipped by noEmitOnError): the next emit is full. */
  outputsKnown: boolean;
  /** The declaration diagnostics are left to the full emit that follows (see checkAll). */
  declarationPending: boolean;
}

const PREFIX = "worker-bridge-tsc-api-";
/** Each session is a compiler process with a whole program in memory. */
const MAX_SESSIONS = 4;

/** The warm API sessions of this tool process (least recently used first), and their mirrors. */
export class ApiSessions {
  private readonly map = new Map<string, Session>();
  private base: string | undefined;
  private counter = 0;
  /** Requests answered by this back end, by a session already warm, and by checking only the changed files. */
  readonly stats = { served: 0, warm: 0, targeted: 0, fallbacks: {} as Record<string, number> };
  /**
   * Targets (with their configuration inputs) this back end could not serve, and why: they go
   * straight to the tsgo back end instead of starting a compiler process to find out again.
   */
  readonly unsuitable = new Map<string, string>();

  markUnsuitable(id: string, reason: string): void {
    this.unsuitable.set(id, reason);
    if (this.unsuitable.size > 256) this.unsuitable.delete(this.unsuitable.keys().next().value!);
  }

  get(key: string): Session | undefined {
    const s = this.map.get(key);
    if (s !== undefined) {
      this.map.delete(key);
      this.map.set(key, s);
    }
    return s;
  }

  add(session: Session): void {
    this.map.set(session.key, session);
    for (const [key, old] of this.map) {
      if (this.map.size <= MAX_SESSIONS) break;
      this.map.delete(key);
      close(old);
    }
  }

  drop(session: Session): void {
    if (this.map.get(session.key) === session) this.map.delete(session.key);
    close(session);
  }

  /** A fresh, empty mirror directory (its real path: the compiler reports real paths). */
  newRoot(): string {
    if (this.base === undefined) {
      const parent = tmpdir();
      sweepDeadProcessDirs(parent, PREFIX);
      this.base = realpathSync(mkdtempSync(join(parent, `${PREFIX}${process.pid}-`)));
      const base = this.base;
      process.once("exit", () => rmSync(base, { recursive: true, force: true }));
    }
    const root = join(this.base, String(++this.counter));
    mkdirSync(root, { recursive: true });
    return root;
  }

  closeAll(): void {
    for (const s of this.map.values()) close(s);
    this.map.clear();
    if (this.base !== undefined) rmSync(this.base, { recursive: true, force: true });
    this.base = undefined;
  }
}

function close(session: Session): void {
  try {
    session.api.close();
  } catch {
    /* the compiler process is gone already */
  }
  rmSync(session.root, { recursive: true, force: true });
}

/** `-p X` / `--project X` / nothing: the configuration file, relative to the request directory. */
function projectConfig(args: readonly string[], cwd: string): string | undefined {
  if (args.length === 0) return "tsconfig.json";
  if (args.length !== 2 || !/^--?(p|project)$/i.test(args[0]!)) return undefined;
  const p = args[1]!;
  const rel = isAbsolute(p) ? relative(cwd, p) : p;
  if (rel === "" || rel === "." ) return "tsconfig.json";
  if (isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`)) return undefined;
  return rel.endsWith(".json") ? rel : join(rel, "tsconfig.json");
}

/**
 * The mirror of a warm session for the same set of input paths: only the inputs whose digest
 * changed are placed again. The mirror holds private copies (a hard link would change with its
 * source written in place), so an unchanged digest needs no look at the file system. Undefined
 * when a full sync is needed (an input the mirror does not hold).
 */
function refreshChanged(root: string, job: ToolJob, previous: Readonly<Record<string, MirroredInput>>): { record: Record<string, MirroredInput> } | undefined {
  const record: Record<string, MirroredInput> = { ...previous };
  for (const input of job.inputs) {
    const rel = mirrorablePath(input.path);
    if (rel === undefined) return undefined;
    const before = previous[rel];
    if (before === undefined) return undefined;
    const digest = Buffer.from(input.digest).toString("hex");
    if (digest === before.digest) continue;
    let source: string;
    try {
      source = realpathSync(join(job.cwd, rel));
    } catch {
      return undefined;
    }
    const target = join(root, rel);
    place(source, target, "copy");
    const st = statSync(target);
    record[rel] = { digest, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, copied: true };
  }
  return { record };
}

/** What the configuration can depend on: the arguments, which files exist, the JSON files' content. */
function planKeyOf(args: readonly string[], job: ToolJob): string {
  const hash = createHash("sha256").update(JSON.stringify(args));
  // Build systems usually send the inputs sorted already: sorting 500 paths again costs more than the check.
  const sorted = job.inputs.every((input, i) => i === 0 || job.inputs[i - 1]!.path <= input.path);
  const inputs = sorted ? job.inputs : [...job.inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const input of inputs) {
    hash.update("\0").update(input.path);
    if (input.path.endsWith(".json")) hash.update("\0").update(input.digest);
  }
  return hash.digest("hex");
}

const flag = (options: Readonly<Record<string, unknown>>, name: string): boolean => options[name] === true;

function groupByFile(diagnostics: readonly ApiDiagnostic[], files: readonly string[], into: Map<string, ApiDiagnostic[]>): void {
  for (const f of files) into.set(f, []);
  for (const d of diagnostics) {
    const f = d.fileName ?? "";
    let list = into.get(f);
    if (list === undefined) into.set(f, (list = []));
    list.push(d);
  }
}

const all = (m: Map<string, ApiDiagnostic[]>): ApiDiagnostic[] => [...m.values()].flat();

class Fallback extends Error {}

/** Checks and emits every file (a new session, or a change that other files can see). */
function checkAll(s: Session): void {
  const p = s.program;
  const files = p.getSourceFileNames();
  s.fileNames = files;
  s.fileSet = new Set(files);
  s.syntactic.clear();
  s.semantic.clear();
  s.declaration.clear();
  groupByFile(p.getSyntacticDiagnostics(), files, s.syntactic);
  // As tsgo's command line does: global diagnostics before any file is checked.
  s.global = [...p.getGlobalDiagnostics()];
  groupByFile(p.getSemanticDiagnostics(), files, s.semantic);
  // Declaration diagnostics come from running the declaration emit over every file, which the full
  // emit that follows runs again (a third of a cascade's compiler time). When that emit happens
  // whatever the diagnostics say (no noEmit, no noEmitOnError), it reports them instead (see
  // settleDeclarationDiagnostics).
  s.declarationPending = s.options.emitDeclarations && !s.options.noEmit && !s.options.noEmitOnError;
  if (s.options.emitDeclarations && !s.declarationPending) groupByFile(p.getDeclarationDiagnostics(), files, s.declaration);
  // The outputs stay until the next full emit replaces them (unchanged ones keep their objects).
  s.outputsKnown = false;
}

function takeEmit(s: Session, e: ApiEmitOutput): void {
  const before = new Map(s.outputs);
  s.outputs.clear();
  s.bySource.clear();
  for (const [name, file] of e.outputFiles) {
    if (file.sourceFileName === undefined) throw new Fallback(`the API emitted ${name} without naming its source file`);
    // An unchanged output keeps its object: the output store then links its copy without hashing.
    const kept = before.get(name);
    s.outputs.set(name, kept !== undefined && kept.text === file.text ? kept : { text: file.text });
    const list = s.bySource.get(file.sourceFileName) ?? [];
    list.push(name);
    s.bySource.set(file.sourceFileName, list);
  }
  for (const name of s.placements.keys()) if (!s.outputs.has(name)) s.placements.delete(name);
  s.outputsKnown = true;
}

/** Checks and emits only `files` again; false if their outputs are not the ones recorded (then a full emit follows). */
function checkSome(s: Session, files: readonly string[]): void {
  const p = s.program;
  groupByFile(p.getSyntacticDiagnostics(files), files, s.syntactic);
  groupByFile(p.getSemanticDiagnostics(files), files, s.semantic);
  if (s.options.emitDeclarations) groupByFile(p.getDeclarationDiagnostics(files), files, s.declaration);
  if (!s.outputsKnown || s.options.noEmit) return;
  const fresh = new Map<string, string>();
  const sources = new Map<string, string>();
  const take = (e: ApiEmitOutput): void => {
    for (const [name, file] of e.outputFiles) {
      fresh.set(name, file.text);
      sources.set(name, file.sourceFileName ?? "");
    }
  };
  if (!s.options.declarationOnly) take(p.getJavaScriptEmit(files));
  if (s.options.emitDeclarations) take(p.getDeclarationEmit(files));
  for (const f of files) {
    const expected = [...(s.bySource.get(f) ?? [])].sort();
    const got = [...fresh.keys()].filter((n) => sources.get(n) === f).sort();
    if (expected.join("\0") !== got.join("\0")) {
      // Another set of outputs than the full emit gave for this file: let a full emit decide.
      s.outputsKnown = false;
      return;
    }
  }
  for (const [name, text] of fresh) {
    if (s.outputs.get(name)?.text !== text) s.outputs.set(name, { text });
  }
}

/**
 * What other files can see of `file`: its declaration output. A file without one (a declaration
 * file itself, say) is seen as it is: undefined, and every file is checked again.
 */
function signature(p: ApiProgram, file: string): string | undefined {
  const e = p.getDeclarationEmit([file]);
  if (e.outputFiles.size === 0) return undefined;
  return [...e.outputFiles.entries()].map(([n, f]) => `${n}\0${f.text}`).sort().join("\0\0");
}

function requireCleanProgram(p: ApiProgram): void {
  if (p.getConfigFileParsingDiagnostics().length > 0) throw new Fallback("the configuration has diagnostics");
  if (p.getProgramDiagnostics().length > 0) throw new Fallback("the program has option or file diagnostics");
}

/** Serves a request through the compiler API, counting why requests were left to the tsgo back end. */
export async function runApiWarm(...request: Parameters<typeof serve>): Promise<ApiOutcome> {
  const outcome = await serve(...request);
  const ctx = request[0];
  if (outcome.kind === "fallback") {
    const f = ctx.sessions.stats.fallbacks;
    f[outcome.reason] = (f[outcome.reason] ?? 0) + 1;
  }
  return outcome;
}

async function serve(
  ctx: ApiContext,
  compilerApi: CompilerApi,
  exe: string,
  version: string,
  args: readonly string[],
  job: ToolJob,
  signal: AbortSignal,
): Promise<ApiOutcome> {
  if (job.inputs.length === 0) return { kind: "fallback", reason: "no declared inputs" };
  if (job.inputs.some((i) => i.digest.length === 0)) return { kind: "fallback", reason: "declared inputs without digests" };
  if (job.inputs.some((i) => mirrorablePath(i.path) === undefined)) return { kind: "fallback", reason: "a declared input is outside the request directory" };
  const config = projectConfig(args, job.cwd);
  if (config === undefined) return { kind: "fallback", reason: "arguments other than -p <project>" };
  const key = JSON.stringify({ exe, version, args });
  const notes: string[] = [];
  const t0 = performance.now();
  let session = ctx.sessions.get(key);
  const planKey = planKeyOf(args, job);
  const known = ctx.sessions.unsuitable.get(`${key}\0${planKey}`);
  if (known !== undefined) return { kind: "fallback", reason: known };
  if (session !== undefined && session.planKey !== planKey) {
    notes.push("API: the set of inputs or a JSON input changed: new session");
    ctx.sessions.drop(session);
    session = undefined;
  }
  let root = session?.root;
  const wasWarm = session !== undefined;
  try {
    root ??= ctx.sessions.newRoot();
    const previous = session?.record ?? {};
    const synced = (session !== undefined ? refreshChanged(root, job, previous) : undefined) ?? syncMirror(root, job.cwd, job.inputs, previous, () => false, "copy");
    const changed = Object.keys(synced.record).filter((rel) => previous[rel]?.digest !== synced.record[rel]!.digest);
    const t1 = performance.now();
    if (session === undefined) {
      const env = { ...job.env, GOMAXPROCS: String(ctx.threads) };
      const plan = await planNative(exe, args, root, env, signal);
      if (signal.aborted) {
        rmSync(root, { recursive: true, force: true });
        return CANCELLED;
      }
      if (plan.kind === "cold") throw new Fallback(`not for the API back end: ${plan.reason}`);
      const o = plan.options ?? {};
      const options: EmitOptions = {
        noEmit: flag(o, "noEmit"),
        noEmitOnError: flag(o, "noEmitOnError"),
        emitDeclarations: flag(o, "declaration") || flag(o, "composite"),
        declarationOnly: flag(o, "emitDeclarationOnly"),
      };
      const configFile = resolve(root, config);
      const api = compilerApi.connect(exe, root, ctx.threads);
      let snapshot: ApiSnapshot;
      let program: ApiProgram | undefined;
      try {
        snapshot = api.createSnapshot({ openProjects: [configFile], ensurePrograms: true });
        program = snapshot.getConfiguredProject(configFile)?.program;
      } catch (err) {
        api.close();
        throw err;
      }
      if (program === undefined) {
        api.close();
        throw new Fallback(`the API did not open ${config} as a project`);
      }
      session = {
        key, root, configFile, api, snapshot, program, planKey, options, record: synced.record,
        fileNames: [], fileSet: new Set(), syntactic: new Map(), semantic: new Map(), declaration: new Map(), global: [],
        outputs: new Map(), bySource: new Map(), placements: new Map(), outputsKnown: false, declarationPending: false,
      };
      ctx.sessions.add(session);
      requireCleanProgram(program);
      checkAll(session);
      notes.push(`API: new session, checked ${session.fileNames.length} file(s)`);
    } else {
      session.record = synced.record;
      if (changed.length > 0) {
        const s = session;
        const abs = changed.map((rel) => join(root!, rel));
        const inProgram = abs.filter((f) => s.fileSet.has(f));
        const before = new Map(inProgram.map((f) => [f, signature(s.program, f)]));
        const next = s.snapshot.update({ fileNotifications: { changed: abs }, ensurePrograms: true });
        s.snapshot.dispose();
        s.snapshot = next;
        const program = next.getConfiguredProject(s.configFile)?.program;
        if (program === undefined) throw new Fallback("the API dropped the project after an update");
        s.program = program;
        if (signal.aborted) throw new Cancelled();
        requireCleanProgram(program);
        const names = program.getSourceFileNames();
        const sameFiles = names.length === s.fileNames.length && names.every((n, i) => n === s.fileNames[i]);
        const visible = inProgram.find((f) => {
          const now = signature(program, f);
          return now === undefined || now !== before.get(f);
        });
        if (!sameFiles || visible !== undefined) {
          checkAll(s);
          notes.push(`API: ${!sameFiles ? "the program's files changed" : `the declaration of ${relative(root, visible!)} changed`}: checked all ${s.fileNames.length} file(s)`);
        } else {
          checkSome(s, inProgram);
          ctx.sessions.stats.targeted++;
          notes.push(`API: ${changed.length} input(s) changed, checked ${inProgram.length} file(s)`);
        }
      } else {
        notes.push("API: nothing changed");
      }
    }
    if (signal.aborted) throw new Cancelled();
    const t2 = performance.now();
    const timing = { emit: 0 };
    const result = assemble(ctx, compilerApi, session, job, timing);
    const t3 = performance.now();
    notes.push(`API times (ms): mirror ${(t1 - t0).toFixed(0)}, compiler ${(t2 - t1).toFixed(0)}, outputs ${(t3 - t2).toFixed(0)} (full emit ${timing.emit.toFixed(0)})`);
    ctx.sessions.stats.served++;
    if (wasWarm) ctx.sessions.stats.warm++;
    return { kind: "done", exitCode: result.exitCode, output: result.output, notes };
  } catch (err) {
    if (session !== undefined) ctx.sessions.drop(session);
    else if (root !== undefined) rmSync(root, { recursive: true, force: true });
    if (err instanceof Cancelled) return CANCELLED;
    const reason = err instanceof Fallback ? err.message : `the compiler API failed: ${(err as Error).message}`;
    ctx.sessions.markUnsuitable(`${key}\0${planKey}`, reason);
    if (!(err instanceof Fallback)) ctx.log(`worker-bridge: tsc: dropped the TypeScript 7 API session of ${job.cwd} (${args.join(" ")}): ${reason}`);
    return { kind: "fallback", reason };
  }
}

class Cancelled extends Error {}

/**
 * After checkAll deferred them: the full emit, and the declaration diagnostics from it. An emit
 * without diagnostics means the declaration emit it ran found none; any diagnostic there (which
 * may be of another kind) and the declaration diagnostics are asked for as such, as before.
 */
function settleDeclarationDiagnostics(s: Session, timing: { emit: number }): void {
  const started = performance.now();
  const e = s.program.emitToString();
  if (e.emitSkipped) throw new Fallback("the API skipped an emit the command line would do");
  takeEmit(s, e);
  timing.emit = performance.now() - started;
  groupByFile(e.diagnostics.length === 0 ? [] : s.program.getDeclarationDiagnostics(), s.fileNames, s.declaration);
  s.declarationPending = false;
}

/** The command line's answer from the session's state: diagnostics, exit code, outputs written. */
function assemble(ctx: ApiContext, compilerApi: CompilerApi, s: Session, job: ToolJob, timing: { emit: number }): { exitCode: number; output: string } {
  const o = s.options;
  if (s.declarationPending) settleDeclarationDiagnostics(s, timing);
  const syntactic = all(s.syntactic);
  let reported: ApiDiagnostic[] = syntactic;
  if (syntactic.length === 0) {
    reported = [...s.global];
    if (reported.length === 0) reported = all(s.semantic);
  }
  const declaration = o.emitDeclarations && reported.length === 0 ? all(s.declaration) : [];
  if (o.noEmit) reported = [...reported, ...declaration];
  let skipped = o.noEmit;
  let emitDiagnostics: ApiDiagnostic[] = [];
  if (!skipped && o.noEmitOnError && reported.length + declaration.length > 0) {
    skipped = true;
    emitDiagnostics = [...reported, ...declaration];
  } else if (!skipped) {
    emitDiagnostics = o.emitDeclarations ? all(s.declaration) : [];
  }
  const final = sortAndDeduplicate([...reported, ...emitDiagnostics]);
  const exitCode = final.length === 0 ? 0 : skipped ? 1 : 2;
  if (!skipped) {
    if (!s.outputsKnown) {
      const started = performance.now();
      const e = s.program.emitToString();
      if (e.emitSkipped) throw new Fallback("the API skipped an emit the command line would do");
      takeEmit(s, e);
      timing.emit = performance.now() - started;
    }
    writeOutputs(ctx, s, job.cwd);
  }
  const host = { getCurrentDirectory: () => s.root, getCanonicalFileName: (f: string) => f, getNewLine: () => "\n" };
  const output = final.length === 0 ? "" : compilerApi.formatDiagnostics(final, host).split(s.root).join(job.cwd);
  return { exitCode, output };
}

function writeOutputs(ctx: ApiContext, s: Session, cwd: string): void {
  const dirs = new Set<string>();
  for (const [name, out] of s.outputs) {
    const at = placementOf(s, name, cwd);
    if (!dirs.has(at.dir)) {
      mkdirSync(at.dir, { recursive: true });
      dirs.add(at.dir);
    }
    // The mirror's path in an output (an absolute source root, say) becomes the request's.
    if (out.text.includes(s.root)) ctx.outputs.place(at.rel, out.text.split(s.root).join(cwd), at.target, undefined);
    else ctx.outputs.place(at.rel, out.text, at.target, out);
  }
  ctx.outputs.endRequest();
}

function placementOf(s: Session, name: string, cwd: string): Placement {
  const known = s.placements.get(name);
  if (known !== undefined && known.cwd === cwd) return known;
  const rel = relative(s.root, name);
  if (rel === "" || isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`)) throw new Fallback(`an output (${name}) lands outside the project directory`);
  const target = join(cwd, rel);
  const at = { cwd, rel, target, dir: dirname(target) };
  s.placements.set(name, at);
  return at;
}
