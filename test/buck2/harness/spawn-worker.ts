import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { WorkerDir } from "./worker-dir.js";

/** How a worker process ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedWorker {
  readonly child: ChildProcess;
  /** Resolves once the process is running, rejects with the spawn error (ENOENT, EACCES, ...). */
  readonly spawned: Promise<number>;
  /** Resolves when the process exits (never for a process that failed to spawn). */
  readonly exited: Promise<ExitInfo>;
}

export interface SpawnWorkerOptions {
  /** The rendered `WorkerInfo.exe`: program then its arguments. Nothing is added (docs/protocol/buck2-worker.md §4.1). */
  readonly exe: readonly string[];
  /** `WorkerInfo.env`, applied over the inherited env (docs/protocol/buck2-worker.md §4.3 step 2). */
  readonly env?: Readonly<Record<string, string>>;
  /** Absolute project root: the worker's cwd and its `PWD`. */
  readonly projectRoot: string;
  readonly dir: WorkerDir;
  /** The environment the worker inherits (Buck2's forkserver env); the harness's own by default. */
  readonly inheritedEnv?: NodeJS.ProcessEnv;
}

/**
 * Starts a worker the way Buck2's forkserver does (docs/protocol/buck2-worker.md §4, §15 step 2): cwd = project root, stdin
 * /dev/null, stdout/stderr to the log files, its own process group, env = inherited + WorkerInfo.env
 * + WORKER_SOCKET + PWD.
 */
export function spawnWorker(options: SpawnWorkerOptions): SpawnedWorker {
  const [program, ...args] = options.exe;
  if (program === undefined) throw new Error("WorkerInfo.exe must be non-empty");
  const env: NodeJS.ProcessEnv = { ...(options.inheritedEnv ?? process.env) };
  for (const [k, v] of Object.entries(options.env ?? {})) env[k] = v;
  env.WORKER_SOCKET = options.dir.socketPath;
  env.PWD = options.projectRoot;
  const out = openSync(options.dir.stdoutPath, "a");
  const err = openSync(options.dir.stderrPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(program, args, {
      cwd: options.projectRoot,
      env,
      // "ignore" opens /dev/null, as Buck2 does for stdin.
      stdio: ["ignore", out, err],
      detached: true,
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const spawned = new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(child.pid!));
    child.once("error", reject);
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  spawned.catch(() => undefined);
  return { child, spawned, exited };
}

/** The exit code Buck2 reports for an early exit; a signal death is shown the shell way. */
export function exitCodeOf(exit: ExitInfo): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? signalNumber(exit.signal) : 0);
}

function signalNumber(signal: NodeJS.Signals): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return table[signal] ?? 0;
}
