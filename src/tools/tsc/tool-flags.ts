// Flags that belong to the worker rather than to tsc. They may be given as worker startup
// arguments (Bazel: after the tool in the worker's argv; Buck2: the worker's args) or in a request;
// they are removed before the remaining arguments are interpreted exactly like the tsc CLI.

export interface TscToolFlags {
  /** Heap budget in MiB for the LRU of warm programs. */
  maxHeapMb?: number;
  /** Fraction of requests re-compiled cold and compared with the warm result. */
  verifyRate?: number;
  /** Explicit TypeScript package directory, overriding resolution from the project. */
  typescript?: string;
  /** TypeScript 7: directory of the persistent incremental state (mirrors, outputs, .tsbuildinfo). */
  stateDir?: string;
  /** TypeScript 7: size bound of the state directory in MiB (least recently used targets go first). */
  stateMaxMb?: number;
  /** TypeScript 7: threads one tsgo run may use (GOMAXPROCS, --checkers; 1 = --singleThreaded). */
  tsgoThreads?: number;
  /** TypeScript 7: "auto" keeps compilers that can emit through their API warm in memory; "off" never. */
  tsgoApi?: "auto" | "off";
}

export class ToolFlagError extends Error {
  override readonly name = "ToolFlagError";
}

const FLAG_NAMES = ["--max-heap-mb", "--verify-rate", "--typescript", "--state-dir", "--state-max-mb", "--tsgo-threads", "--tsgo-api"] as const;
type FlagName = (typeof FLAG_NAMES)[number];

function isFlagName(name: string): name is FlagName {
  return (FLAG_NAMES as readonly string[]).includes(name);
}

function applyFlag(flags: TscToolFlags, name: FlagName, value: string): void {
  switch (name) {
    case "--max-heap-mb": {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new ToolFlagError(`--max-heap-mb expects a positive number of MiB, got "${value}"`);
      flags.maxHeapMb = n;
      return;
    }
    case "--verify-rate": {
      const r = Number(value);
      if (!Number.isFinite(r) || r < 0 || r > 1) throw new ToolFlagError(`--verify-rate expects a fraction between 0 and 1, got "${value}"`);
      flags.verifyRate = r;
      return;
    }
    case "--typescript":
      if (value === "") throw new ToolFlagError("--typescript expects the directory of a typescript package");
      flags.typescript = value;
      return;
    case "--state-dir":
      if (value === "") throw new ToolFlagError("--state-dir expects a directory");
      flags.stateDir = value;
      return;
    case "--state-max-mb": {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new ToolFlagError(`--state-max-mb expects a positive number of MiB, got "${value}"`);
      flags.stateMaxMb = n;
      return;
    }
    case "--tsgo-threads": {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new ToolFlagError(`--tsgo-threads expects a whole number of threads >= 1, got "${value}"`);
      flags.tsgoThreads = n;
      return;
    }
    case "--tsgo-api":
      if (value !== "auto" && value !== "off") throw new ToolFlagError(`--tsgo-api expects "auto" or "off", got "${value}"`);
      flags.tsgoApi = value;
      return;
  }
}

/** Splits worker flags (`--name=value` or `--name value`) from the arguments meant for tsc. */
export function splitToolFlags(args: readonly string[]): { flags: TscToolFlags; rest: string[] } {
  const flags: TscToolFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!isFlagName(name)) {
      rest.push(arg);
      continue;
    }
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined) throw new ToolFlagError(`${name} needs a value`);
      value = next;
      i++;
    }
    applyFlag(flags, name, value);
  }
  return { flags, rest };
}

/** Request flags win over startup flags. */
export function mergeFlags(startup: TscToolFlags, request: TscToolFlags): TscToolFlags {
  return { ...startup, ...request };
}
