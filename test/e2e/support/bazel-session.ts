import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import { collectProcessTree, isProcessAlive, killPids } from "./process-tree.js";

/** The first executable `bazel` on PATH, or undefined. */
export function findBazel(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "bazel");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Bazel's version. Debian's bazel-bootstrap prints `no_version` for `bazel --version`, so the
 * package version is asked first.
 */
export function bazelVersion(bazel: string): string {
  const dpkg = spawnSync("dpkg-query", ["-W", "-f=${Version}", "bazel-bootstrap"], { encoding: "utf8" });
  if (dpkg.status === 0 && dpkg.stdout.trim() !== "") return dpkg.stdout.trim();
  const own = spawnSync(bazel, ["--version"], { encoding: "utf8", timeout: 60_000 });
  return (own.stdout ?? "").trim().replace(/^bazel\s+/, "") || "unknown";
}

/** One action as Bazel reported it: the probe prints `action=<Mnemonic>:<short path>` then `pid=N`. */
export interface ObservedAction {
  mnemonic: string;
  output: string;
  pid: number;
}

export interface BazelRun {
  command: string;
  args: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The watchdog fired: the server and its workers were killed. */
  timedOut: boolean;
  wallMs: number;
  stdout: string;
  stderr: string;
}

export interface BuildRun extends BazelRun {
  actions: ObservedAction[];
  /** From `INFO: N processes: 1 internal, 24 worker.`, e.g. `{ internal: 1, worker: 24 }`. */
  processes: Record<string, number>;
}

export interface BazelSessionOptions {
  bazel: string;
  workspace: string;
  /** Per-command deadline; past it the watchdog kills the client, the server and its workers. */
  deadlineMs?: number;
  /** Parent of the session's temp dir; os.tmpdir() by default. */
  tmpRoot?: string;
  /** Flags added to every `build` (e.g. `--worker_verbose`). */
  buildFlags?: string[];
}

/**
 * A Bazel server of our own (its own `--output_base` in a temp dir), so tests neither disturb nor
 * depend on a developer's server, convenience symlinks, or ~/.bazelrc. Every command runs under a
 * watchdog: a worker that never answers hangs Bazel for good (Ctrl-C does not free it), so on a
 * deadline the server's whole process tree is killed by PID.
 */
export class BazelSession {
  readonly outputBase: string;
  private readonly deadlineMs: number;
  private disposed = false;

  private constructor(
    private readonly options: BazelSessionOptions,
    readonly root: string,
  ) {
    this.outputBase = join(root, "output_base");
    this.deadlineMs = options.deadlineMs ?? 180_000;
  }

  static async create(options: BazelSessionOptions): Promise<BazelSession> {
    const root = await mkdtemp(join(options.tmpRoot ?? tmpdir(), "worker-bridge-bazel-"));
    await mkdir(join(root, "jvm-tmp"));
    return new BazelSession(options, root);
  }

  get workspace(): string {
    return this.options.workspace;
  }

  /** Adds flags to every later `build`. */
  addBuildFlags(...flags: string[]): void {
    this.options.buildFlags = [...(this.options.buildFlags ?? []), ...flags];
  }

  private startupFlags(): string[] {
    return [
      `--output_base=${this.outputBase}`,
      // Ours alone: a developer's ~/.bazelrc must not change what is tested. The system rc stays:
      // Debian's /etc/bazel/bazelrc sets the install base and the local JDK.
      "--nohome_rc",
      // A server leaked by a crashed test run still goes away on its own.
      "--max_idle_secs=900",
      // The server's own temporary files (Bazel 4.2.3 leaves an exec*.log behind for every
      // --execution_log_json_file) go under the session, which is removed with it.
      `--host_jvm_args=-Djava.io.tmpdir=${join(this.root, "jvm-tmp")}`,
    ];
  }

  /**
   * Runs one Bazel command to completion or to the deadline. Never rejects for a non-zero exit.
   * Past the deadline the watchdog SIGKILLs the server's workers every second: that alone frees
   * Bazel from a worker that never answers (the action fails, the server survives). If the client
   * is still running `escalateMs` later, the server and the client are killed too.
   */
  run(command: string, args: readonly string[] = [], deadlineMs = this.deadlineMs, escalateMs = 30_000): Promise<BazelRun> {
    const argv = [...this.startupFlags(), command, ...args];
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.bazel, argv, {
        cwd: this.options.workspace,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env },
      });
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      let killer: NodeJS.Timeout | undefined;
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const watchdog = setTimeout(() => {
        timedOut = true;
        const giveUpAt = Date.now() + escalateMs;
        const strike = (): void => {
          if (Date.now() >= giveUpAt) {
            this.killEverything();
            if (child.pid !== undefined) killPids([child.pid]);
            return;
          }
          killPids(this.serverDescendants());
          killer = setTimeout(strike, 1000);
        };
        strike();
      }, deadlineMs);
      const stop = (): void => {
        clearTimeout(watchdog);
        clearTimeout(killer);
      };
      child.on("error", (err) => {
        stop();
        reject(err);
      });
      child.on("close", (exitCode, signal) => {
        stop();
        resolve({
          command,
          args: [...args],
          exitCode,
          signal,
          timedOut,
          wallMs: performance.now() - started,
          stdout,
          stderr,
        });
      });
    });
  }

  /** `bazel build` with plain, parseable console output. */
  async build(targets: readonly string[], flags: readonly string[] = [], deadlineMs?: number): Promise<BuildRun> {
    const run = await this.run(
      "build",
      [
      "--curses=no",
      "--color=no",
      // Fewer progress lines inside the INFO blocks parseActions reads.
      "--noshow_progress",
      // Convenience symlinks would clobber a developer's bazel-bin in the workspace.
      "--symlink_prefix=/",
      ...(this.options.buildFlags ?? []),
      ...flags,
      "--",
      ...targets,
      ],
      deadlineMs,
    );
    return { ...run, actions: parseActions(run.stderr), processes: parseProcesses(run.stderr) };
  }

  /** `bazel info <key>` (e.g. bazel-bin), trimmed. Throws when Bazel fails. */
  async info(key: string): Promise<string> {
    const run = await this.run("info", [key]);
    if (run.exitCode !== 0) throw new Error(`bazel info ${key} failed (${describeExit(run)}):\n${run.stderr}`);
    return run.stdout.trim();
  }

  /** Bazel's worker stderr logs, file name -> content (`worker-N-Mnemonic.log`, `multiplex-worker-…`). */
  async workerLogs(): Promise<Map<string, string>> {
    const dir = join(this.outputBase, "bazel-workers");
    const logs = new Map<string, string>();
    if (!existsSync(dir)) return logs;
    for (const name of (await readdir(dir)).sort()) {
      if (name.endsWith(".log")) logs.set(name, await readFile(join(dir, name), "utf8"));
    }
    return logs;
  }

  /** The Bazel server's pid, if one is running for this output base. */
  serverPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.outputBase, "server", "server.pid.txt"), "utf8").trim());
      return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every live process under the Bazel server: its workers (and anything they started). */
  serverDescendants(): number[] {
    const server = this.serverPid();
    return server === undefined ? [] : collectProcessTree(server).filter((p) => p !== server);
  }

  /** Last resort: SIGKILL the server's workers, then the server itself, by PID. */
  killEverything(): void {
    const server = this.serverPid();
    if (server === undefined) return;
    killPids([...collectProcessTree(server).filter((p) => p !== server), server]);
  }

  /** `bazel shutdown` (workers get SIGTERM/EOF), then kill whatever survived, then delete the temp dir. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      if (this.serverPid() !== undefined) await this.run("shutdown", [], 60_000);
    } finally {
      this.killEverything();
      await removeTree(this.root);
    }
  }
}

export function describeExit(run: BazelRun): string {
  if (run.timedOut) return `killed by the watchdog after ${Math.round(run.wallMs)} ms`;
  return run.signal !== null ? `signal ${run.signal}` : `exit ${run.exitCode}`;
}

/**
 * Actions from the `INFO: From …` blocks: the probe's `action=<Mnemonic>:<path>` line, then the
 * next `pid=N` line. Bazel 4.2.3 may print a progress line inside a block, and prints an `output`
 * without a trailing newline as is, so the next message can start on the pid line.
 */
export function parseActions(stderr: string): ObservedAction[] {
  const actions: ObservedAction[] = [];
  let pending: { mnemonic: string; output: string } | undefined;
  for (const line of stderr.split(/\r?\n/)) {
    const action = /^action=([A-Za-z0-9_]+):(\S+)$/.exec(line);
    if (action) {
      pending = { mnemonic: action[1]!, output: action[2]! };
      continue;
    }
    const pid = /^pid=(\d+)/.exec(line);
    if (pid && pending) {
      actions.push({ ...pending, pid: Number(pid[1]) });
      pending = undefined;
    }
  }
  return actions;
}

/** `INFO: 25 processes: 1 internal, 24 worker.` -> `{ internal: 1, worker: 24 }`. */
export function parseProcesses(stderr: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const line = /^INFO: \d+ process(?:es)?: (.*)\.$/m.exec(stderr);
  if (!line) return counts;
  for (const part of line[1]!.split(",")) {
    const m = /^\s*(\d+) (.+?)\s*$/.exec(part);
    if (m) counts[m[2]!] = Number(m[1]);
  }
  return counts;
}

/** Bazel leaves read-only directories in its output base; make them writable so rm succeeds. */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755).catch(() => undefined);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !entry.isSymbolicLink()) await makeWritable(join(dir, entry.name));
  }
}
