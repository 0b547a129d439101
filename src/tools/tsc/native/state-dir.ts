// The TypeScript 7 back end's on-disk state: one directory per target key under `--state-dir`,
// holding the compile mirror, the worker-owned outputs and the `.tsbuildinfo`. It survives
// restarts, so nothing in it is trusted without checking: a foreign, corrupt or half-written entry
// (or one whose last run was interrupted) is discarded and the target compiles cold.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** Bumped whenever the layout or meta format changes; older entries are ignored and evicted. */
const FORMAT = 1;
const LAYOUT_DIR = `v${FORMAT}`;

/** Where the state lives when `--state-dir` is not given: the user's cache directory. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "worker-bridge", "tsc");
  const home = env.HOME ?? safeHomedir();
  if (home) {
    if (process.platform === "darwin") return join(home, "Library", "Caches", "worker-bridge", "tsc");
    return join(home, ".cache", "worker-bridge", "tsc");
  }
  // Bazel may start workers without HOME; a per-user directory under the system temp dir is next best.
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return join(tmpdir(), `worker-bridge-${uid}`, "tsc");
}

function safeHomedir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

/** What a target's entry records between requests. */
export interface TargetMeta {
  readonly format: number;
  /** The full key material; an entry whose key differs from its directory's is foreign. */
  readonly key: string;
  /** Digest of the resolved compiler options and root files: a change means outputs may go away. */
  readonly optionsHash: string;
  /** Digest of what tsgo's view of the configuration depends on ("" if unknown); see warm-native.ts. */
  readonly planKey: string;
  /** Mirror mode: what each mirrored input was synced from. */
  readonly inputs: Record<string, MirroredInput>;
  /** Output paths (relative to the compile directory) tsgo has written for this target. */
  readonly outputs: readonly string[];
  /** Outputs that contain the compile directory's path (written with the request's path instead). */
  readonly leaky: readonly string[];
  /** The program's files as the `.tsbuildinfo` lists them after the last run. */
  readonly fileNames: readonly string[];
}

export interface MirroredInput {
  /** Hex digest the build system sent, or "" when it sent none. */
  readonly digest: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Device and inode of the mirror's file (equal to the source's while it is a hard link). */
  readonly dev: number;
  readonly ino: number;
  /**
   * A private copy (nobody else writes it). A hard link shares the source's inode, whose content
   * changes when the source is written in place, so it is only trusted while it is still the
   * source's current file.
   */
  readonly copied?: boolean;
}

interface Usage {
  readonly lastUsed: number;
  readonly bytes: number;
}

interface LockInfo {
  readonly pid: number;
}

export type OpenResult =
  | { readonly kind: "open"; readonly entry: TargetEntry; readonly meta: TargetMeta | undefined; readonly discarded: string | undefined }
  /** Another live process is compiling this target right now. */
  | { readonly kind: "busy"; readonly pid: number };

export class TargetEntry {
  constructor(
    readonly dir: string,
    readonly key: string,
  ) {}
  get metaPath(): string {
    return join(this.dir, "meta.json");
  }
  get lockPath(): string {
    return join(this.dir, "lock");
  }
  get usagePath(): string {
    return join(this.dir, "usage.json");
  }
  /** The `.tsbuildinfo`, outside every output directory. */
  get buildInfoPath(): string {
    return join(this.dir, "build.tsbuildinfo");
  }
  /** Mirror mode: the stable directory tsgo compiles in (inputs only: outputs are moved out). */
  get treeDir(): string {
    return join(this.dir, "tree");
  }
  /** The worker-owned outputs (moved here from the tree, or copied from the request directory). */
  get outDir(): string {
    return join(this.dir, "out");
  }
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8")) as unknown;
}

function isMeta(value: unknown, key: string): value is TargetMeta {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    m.format === FORMAT &&
    m.key === key &&
    typeof m.optionsHash === "string" &&
    typeof m.planKey === "string" &&
    typeof m.inputs === "object" &&
    m.inputs !== null &&
    Array.isArray(m.outputs) &&
    m.outputs.every((o) => typeof o === "string") &&
    Array.isArray(m.leaky) &&
    Array.isArray(m.fileNames)
  );
}

/** Writes via a temporary file and rename, so a reader never sees half a file. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Bytes a directory costs on disk; files hard-linked elsewhere (mirrored inputs) cost nothing extra. */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += directoryBytes(p);
    else {
      try {
        const st = lstatSync(p);
        if (st.nlink <= 1) total += st.size;
      } catch {
        /* vanished */
      }
    }
  }
  return total;
}

export class StateStore {
  private readonly targetsDir: string;
  /** Targets this process holds the lock of (a lock with our pid that is not here is stale). */
  private readonly held = new Set<string>();

  constructor(
    readonly root: string,
    readonly maxBytes: number,
  ) {
    this.targetsDir = join(root, LAYOUT_DIR, "targets");
  }

  static keyHash(key: string): string {
    return createHash("sha256").update(key).digest("hex").slice(0, 32);
  }

  /**
   * Opens (and locks) the entry for `key`. Whatever cannot be trusted is discarded first; the
   * reason comes back in `discarded` so the caller can log it once.
   */
  open(key: string): OpenResult {
    mkdirSync(this.targetsDir, { recursive: true, mode: 0o700 });
    const dir = join(this.targetsDir, StateStore.keyHash(key));
    const entry = new TargetEntry(dir, key);
    if (this.held.has(dir)) throw new Error(`tsc state: target ${dir} is already open in this process`);
    const existed = existsDir(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let discarded: string | undefined;
    if (!this.tryLock(entry)) {
      const lock = this.readLock(entry);
      if (lock !== undefined && lock.pid !== process.pid && pidAlive(lock.pid)) return { kind: "busy", pid: lock.pid };
      // A lock nobody holds: the process that took it died mid-run.
      discarded = "its previous run was interrupted";
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!this.tryLock(entry)) return { kind: "busy", pid: this.readLock(entry)?.pid ?? -1 };
    }
    this.held.add(dir);
    let meta: TargetMeta | undefined;
    if (discarded === undefined && existed) {
      try {
        const value = readJson(entry.metaPath);
        if (isMeta(value, key)) meta = value;
        else discarded = "its record is corrupt or belongs to another target";
      } catch (err) {
        discarded =
          (err as NodeJS.ErrnoException).code === "ENOENT" ? "its record is missing" : `its record cannot be read (${(err as Error).message})`;
      }
      if (discarded !== undefined) this.reset(entry);
    }
    return { kind: "open", entry, meta, discarded };
  }

  private tryLock(entry: TargetEntry): boolean {
    try {
      writeFileSync(entry.lockPath, JSON.stringify({ pid: process.pid } satisfies LockInfo), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  }

  /** Records a finished run and releases the lock. */
  commit(entry: TargetEntry, meta: TargetMeta, bytes?: number): void {
    writeAtomic(entry.metaPath, JSON.stringify(meta));
    // Measuring the directory costs a walk; a warm run changes its size little, so the last figure stands.
    let size = bytes;
    if (size === undefined) {
      try {
        const u = readJson(entry.usagePath) as Partial<Usage>;
        if (typeof u.bytes === "number") size = u.bytes;
      } catch {
        /* measured below */
      }
    }
    writeAtomic(entry.usagePath, JSON.stringify({ lastUsed: Date.now(), bytes: size ?? directoryBytes(entry.dir) } satisfies Usage));
    this.release(entry);
  }

  /** Throws the target's state away (the next run is cold) and releases the lock. */
  discard(entry: TargetEntry): void {
    rmSync(entry.dir, { recursive: true, force: true });
    this.held.delete(entry.dir);
  }

  /** Drops the record but keeps the lock: the caller is about to start this target over. */
  reset(entry: TargetEntry): void {
    for (const name of readdirSafe(entry.dir)) {
      if (name !== "lock") rmSync(join(entry.dir, name), { recursive: true, force: true });
    }
  }

  release(entry: TargetEntry): void {
    rmSync(entry.lockPath, { force: true });
    this.held.delete(entry.dir);
  }

  /**
   * Evicts least recently used targets until the state fits `maxBytes`. Entries without a usage
   * record and without a live lock (foreign, or left by a crash) go first.
   */
  evict(): { evicted: number; bytes: number } {
    const entries: { dir: string; lastUsed: number; bytes: number }[] = [];
    for (const name of readdirSafe(this.targetsDir)) {
      const dir = join(this.targetsDir, name);
      const entry = new TargetEntry(dir, "");
      const lock = this.readLock(entry);
      if (this.held.has(dir) || (lock !== undefined && lock.pid !== process.pid && pidAlive(lock.pid))) continue;
      let usage: Usage | undefined;
      try {
        const u = readJson(entry.usagePath) as Partial<Usage>;
        if (typeof u.lastUsed === "number" && typeof u.bytes === "number") usage = { lastUsed: u.lastUsed, bytes: u.bytes };
      } catch {
        /* no usage record */
      }
      entries.push(usage ? { dir, ...usage } : { dir, lastUsed: -1, bytes: directoryBytes(dir) });
    }
    let total = entries.reduce((s, e) => s + e.bytes, 0);
    entries.sort((a, b) => a.lastUsed - b.lastUsed);
    let evicted = 0;
    for (const e of entries) {
      if (total <= this.maxBytes && e.lastUsed !== -1) break;
      rmSync(e.dir, { recursive: true, force: true });
      total -= e.bytes;
      evicted++;
    }
    return { evicted, bytes: total };
  }

  private readLock(entry: TargetEntry): LockInfo | undefined {
    try {
      const value = readJson(entry.lockPath) as Partial<LockInfo>;
      return { pid: typeof value.pid === "number" ? value.pid : -1 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      return { pid: -1 }; // unreadable lock: treat as left by a dead process
    }
  }
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export const STATE_FORMAT = FORMAT;
