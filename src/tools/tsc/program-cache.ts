// Warm state per target, in least-recently-used order under a heap budget and a target count. A
// target is one
// (cwd, compiler, arguments) combination; its program key covers everything else that affects the
// result (resolved options, root files), and a different key always means a fresh builder.
import { getHeapStatistics } from "node:v8";
import type * as TS from "typescript";
import type { EmittedFile } from "./compile.js";
import { ProbeLog, SourceFileCache } from "./compiler-host.js";

/** What the last request of a target produced, in the compiler's (virtual) paths. */
export interface RememberedResult {
  readonly outputs: ReadonlyMap<string, EmittedFile>;
  readonly diagnostics: string;
  readonly exitCode: number;
  /** Formatted config-file diagnostics of that request: their positions depend on the tsconfig text. */
  readonly configDiagnostics: string;
}

export interface TargetEntry {
  /** Cache key: the target in its real directory. */
  targetId: string;
  /** The target as the compiler sees it (virtual directory, compiler, arguments). */
  readonly virtualId: string;
  /** The real directory of the target's last request. */
  realCwd: string;
  readonly programKey: string;
  builder: TS.EmitAndSemanticDiagnosticsBuilderProgram | undefined;
  readonly sources: SourceFileCache;
  /** Every output tsc would write for this target, as last emitted. */
  readonly outputs: Map<string, EmittedFile>;
  probes: ProbeLog;
  /** The previous request's result, reused whole when nothing it depended on changed. */
  last: RememberedResult | undefined;
  /** Heap growth seen when this entry was first built: a rough size for eviction decisions. */
  approxBytes: number;
}

export function newEntry(targetId: string, virtualId: string, programKey: string, realCwd: string): TargetEntry {
  return {
    targetId,
    virtualId,
    realCwd,
    programKey,
    builder: undefined,
    sources: new SourceFileCache(),
    outputs: new Map(),
    probes: new ProbeLog(),
    last: undefined,
    approxBytes: 0,
  };
}

export function heapUsedBytes(): number {
  return getHeapStatistics().used_heap_size;
}

/**
 * Targets kept warm at most. The heap budget bounds memory; this bounds targets that will never
 * be asked for again (a target whose directory was deleted and never adopted, an option tried
 * once), which otherwise stay until the heap is full. Plenty for a worker serving a large repo's
 * libraries; least recently used goes first.
 */
export const DEFAULT_MAX_TARGETS = 128;

export class ProgramCache {
  /** Map iteration order is insertion order: re-inserting on use keeps it least-recent first. */
  private readonly entries = new Map<string, TargetEntry>();
  maxHeapSeen = 0;
  evictions = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxTargets = DEFAULT_MAX_TARGETS,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(targetId: string): TargetEntry | undefined {
    const entry = this.entries.get(targetId);
    if (entry) {
      this.entries.delete(targetId);
      this.entries.set(targetId, entry);
    }
    return entry;
  }

  set(entry: TargetEntry): void {
    this.entries.delete(entry.targetId);
    this.entries.set(entry.targetId, entry);
  }

  /**
   * The most recently used entry of the same virtual target with the same program key whose
   * directory is gone (the same target's previous sandbox or action directory), moved under
   * `targetId` for `realCwd`. A directory that still exists belongs to a target still in use (the
   * daemon serving two packages alike), whose state is not taken. The adopted state stays valid:
   * every file and probe is checked against the new directory before anything is reused.
   */
  adopt(targetId: string, virtualId: string, programKey: string, realCwd: string, exists: (dir: string) => boolean): TargetEntry | undefined {
    let found: TargetEntry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.virtualId === virtualId && entry.programKey === programKey && !exists(entry.realCwd)) found = entry;
    }
    if (found === undefined) return undefined;
    this.entries.delete(found.targetId);
    found.targetId = targetId;
    found.realCwd = realCwd;
    this.entries.set(targetId, found);
    return found;
  }

  delete(targetId: string): void {
    this.entries.delete(targetId);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * Called after a request. Least recently used targets beyond the count bound go first. The heap
   * figure includes garbage not yet collected, so instead of evicting until the number drops (it
   * will not, until the next GC) we evict least recently used entries until their estimated sizes
   * cover the excess. The current target is never evicted.
   */
  enforceBudget(currentTargetId: string): number {
    let evicted = 0;
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.maxTargets) break;
      if (id === currentTargetId) continue;
      this.entries.delete(id);
      evicted++;
    }
    const countEvicted = evicted;
    this.evictions += countEvicted;
    const heap = heapUsedBytes();
    if (heap > this.maxHeapSeen) this.maxHeapSeen = heap;
    let excess = heap - this.budgetBytes;
    if (excess <= 0) return evicted;
    const fallbackSize = heap / Math.max(1, this.entries.size);
    for (const [id, entry] of this.entries) {
      if (excess <= 0) break;
      if (id === currentTargetId) continue;
      this.entries.delete(id);
      excess -= entry.approxBytes > 0 ? entry.approxBytes : fallbackSize;
      evicted++;
    }
    this.evictions += evicted - countEvicted;
    return evicted;
  }
}
