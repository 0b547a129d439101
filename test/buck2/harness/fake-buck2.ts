import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { ExecuteResponse } from "../../../src/gen/buck2/worker_pb.js";
import { CONNECT_DEADLINE_MS } from "./connect.js";
import { FifoSemaphore } from "./fifo-semaphore.js";
import { executeCommand } from "./grpc-client.js";
import { WorkerProcess, type InitFailure, type WorkerEndReport, type WorkerInfoSpec } from "./worker-process.js";
import { createWorkerDir } from "./worker-dir.js";
import { descendants, killQuietly } from "./process-tree.js";

/** What `buck2 log what-ran` would call the executor (docs/protocol/buck2-worker.md §11). */
export type Executor = "WorkerInit" | "Worker" | "Local";

export interface WorkerRef {
  readonly id: number;
  readonly info: WorkerInfoSpec;
}

/** One `ctx.actions.run(args, exe = WorkerRunInfo(worker, exe = fallback))`. */
export interface WorkerAction {
  readonly worker: WorkerRef;
  /** The action's positional arguments, rendered (no exe, `@argfile`s as written). */
  readonly args: readonly (string | Uint8Array)[];
  /** `ctx.actions.run(env = ...)`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutS?: number;
  /** Declared outputs, project-relative. */
  readonly outputs?: readonly string[];
  /** For the scratch dir name; unique per action. */
  readonly name?: string;
}

export type ActionResult =
  | { readonly kind: "success"; readonly executor: Executor; readonly exitCode: 0; readonly stdout: ""; readonly stderr: string; readonly response?: ExecuteResponse }
  | { readonly kind: "failed"; readonly executor: Executor; readonly exitCode: number; readonly stdout: string; readonly stderr: string; readonly response?: ExecuteResponse }
  | { readonly kind: "timed-out"; readonly executor: Executor; readonly timedOutAfterS: bigint; readonly stderr: string; readonly response: ExecuteResponse }
  | { readonly kind: "missing-outputs"; readonly executor: Executor; readonly missing: string[]; readonly stderr: string }
  /** Shown by Buck2 as ``Spawning executable `<argv0>` failed: <message>`` (docs/protocol/buck2-worker.md §7.2). */
  | { readonly kind: "worker-failure"; readonly executor: Executor; readonly message: string }
  /** Spawn failure or connect timeout (docs/protocol/buck2-worker.md §5.3). */
  | { readonly kind: "init-failure"; readonly executor: Executor; readonly message: string }
  | { readonly kind: "harness-violation"; readonly executor: Executor; readonly message: string };

export interface FakeBuck2Options {
  /** Absolute project root: the worker's cwd; argv paths are relative to it. */
  readonly projectRoot: string;
  /** Where `buck2_worker/` goes; Buck2 uses /tmp. Default: a fresh directory under /tmp. */
  readonly workerRoot?: string;
  /** Local execution slots (`-j`); Buck2's default is about the CPU count. */
  readonly localSlots?: number;
  /** 60 s in Buck2 (docs/protocol/buck2-worker.md §5.2). */
  readonly connectDeadlineMs?: number;
  /** How long a streaming worker gets to send response headers (Buck2: forever); default the connect deadline. */
  readonly streamHeadersTimeoutMs?: number;
  /** `build.persistent_worker_shutdown_timeout_s`, 10 s by default (docs/protocol/buck2-worker.md §10). */
  readonly shutdownTimeoutMs?: number;
  readonly inheritedEnv?: NodeJS.ProcessEnv;
}

export interface CommandReport {
  readonly workers: WorkerEndReport[];
  readonly violations: string[];
}

/** The end of a command found behaviour Buck2 would not tolerate. */
export class HarnessFailure extends Error {
  override readonly name = "HarnessFailure";
  constructor(
    message: string,
    readonly report: CommandReport,
  ) {
    super(message);
  }
}

/**
 * One Buck2 command's worth of worker handling, imitating Buck2 as docs/protocol/buck2-worker.md §15 describes: a pool with
 * exactly one process per WorkerId, start-up failures cached (no respawn), per-worker FIFO permits
 * then global slots, Buck2's env and argv rules, and SIGTERM → SIGKILL at the end.
 */
export class FakeBuck2 {
  readonly projectRoot: string;
  readonly workerRoot: string;
  readonly traceId = randomUUID();
  readonly daemonUuid = randomUUID();
  readonly buildId = randomUUID();
  private readonly connectDeadlineMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly slots: FifoSemaphore;
  private readonly workerPermits = new Map<number, FifoSemaphore>();
  private readonly pool = new Map<number, WorkerProcess>();
  private readonly initResults = new Map<number, Promise<InitFailure | undefined>>();
  private nextWorkerId = 0;
  private nextActionId = 0;
  readonly violations: string[] = [];
  private ended = false;

  constructor(private readonly options: FakeBuck2Options) {
    if (!isAbsolute(options.projectRoot)) throw new Error("projectRoot must be absolute");
    this.projectRoot = options.projectRoot;
    this.workerRoot = options.workerRoot ?? mkdtempSync("/tmp/fb2-");
    this.connectDeadlineMs = options.connectDeadlineMs ?? CONNECT_DEADLINE_MS;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.slots = new FifoSemaphore(options.localSlots ?? availableParallelism());
  }

  /** `WorkerInfo(...)`: each construction gets the next id (docs/protocol/buck2-worker.md §3). */
  defineWorker(info: WorkerInfoSpec): WorkerRef {
    if (info.exe.length === 0) throw new Error("WorkerInfo.exe must be non-empty");
    return { id: this.nextWorkerId++, info };
  }

  /** The worker process for a WorkerId, if it was started. */
  worker(ref: WorkerRef): WorkerProcess | undefined {
    return this.pool.get(ref.id);
  }

  /** Runs one action on its worker, as Buck2's local executor does (docs/protocol/buck2-worker.md §6, §7). */
  async runAction(action: WorkerAction): Promise<ActionResult> {
    if (this.ended) throw new Error("the command has ended");
    const actionId = this.nextActionId++;
    const concurrency = action.worker.info.concurrency;
    let permits: FifoSemaphore | undefined;
    if (concurrency !== undefined) {
      permits = this.workerPermits.get(action.worker.id);
      if (!permits) {
        permits = new FifoSemaphore(concurrency);
        this.workerPermits.set(action.worker.id, permits);
      }
    }
    const releasePermit = permits ? await permits.acquire() : undefined;
    const releaseSlot = await this.slots.acquire();
    try {
      const scratch = await this.prepareAction(action, actionId);
      const { worker, spawnedHere } = this.getOrCreateWorker(action.worker);
      const executor: Executor = spawnedHere ? "WorkerInit" : "Worker";
      const failure = await this.initResults.get(action.worker.id)!;
      if (failure) return initFailureResult(failure, executor);
      const command = executeCommand({
        argv: [...action.args],
        env: this.requestEnv(action, scratch),
        ...(action.timeoutS !== undefined ? { timeoutS: action.timeoutS } : {}),
      });
      const outcome = await worker!.execute(command);
      if (outcome.kind === "worker-failure") return { kind: "worker-failure", executor, message: outcome.message };
      if (outcome.kind === "harness-violation") return { kind: "harness-violation", executor, message: outcome.message };
      return this.interpret(outcome.response, action, executor);
    } finally {
      releaseSlot();
      releasePermit?.();
    }
  }

  /**
   * The fallback (`WorkerRunInfo.exe` + args) as an ordinary local action: used when the platform
   * has no `use_persistent_workers` (docs/protocol/buck2-worker.md §2). Env: inherited plus the action env.
   */
  async runFallback(fallbackExe: readonly string[], action: Omit<WorkerAction, "worker">): Promise<ActionResult> {
    const actionId = this.nextActionId++;
    const releaseSlot = await this.slots.acquire();
    try {
      const scratch = await this.prepareAction(action, actionId);
      const env: NodeJS.ProcessEnv = { ...(this.options.inheritedEnv ?? process.env) };
      for (const [k, v] of this.requestEnv(action, scratch)) env[k] = v;
      const [program, ...rest] = [...fallbackExe, ...action.args.map((a) => (typeof a === "string" ? a : Buffer.from(a).toString()))];
      const { code, stdout, stderr } = await runLocal(program!, rest, this.projectRoot, env);
      if (code !== 0) return { kind: "failed", executor: "Local", exitCode: code, stdout, stderr };
      const missing = (action.outputs ?? []).filter((o) => !existsSync(resolve(this.projectRoot, o)));
      if (missing.length > 0) return { kind: "missing-outputs", executor: "Local", missing, stderr };
      return { kind: "success", executor: "Local", exitCode: 0, stdout: "", stderr };
    } finally {
      releaseSlot();
    }
  }

  private getOrCreateWorker(ref: WorkerRef): { worker: WorkerProcess | undefined; spawnedHere: boolean } {
    if (this.initResults.has(ref.id)) return { worker: this.pool.get(ref.id), spawnedHere: false };
    // Synchronous up to the map inserts, so concurrent first users share one start-up (docs/protocol/buck2-worker.md §3).
    let dir;
    try {
      dir = createWorkerDir(this.workerRoot, this.traceId, ref.id);
    } catch (err) {
      this.initResults.set(ref.id, Promise.resolve({ kind: "spawn-failed", message: `Error initializing worker: ${(err as Error).message}` }));
      return { worker: undefined, spawnedHere: true };
    }
    const worker = new WorkerProcess({
      id: ref.id,
      info: ref.info,
      dir,
      projectRoot: this.projectRoot,
      connectDeadlineMs: this.connectDeadlineMs,
      ...(this.options.streamHeadersTimeoutMs !== undefined ? { streamHeadersTimeoutMs: this.options.streamHeadersTimeoutMs } : {}),
      ...(this.options.inheritedEnv ? { inheritedEnv: this.options.inheritedEnv } : {}),
      violation: (m) => this.violations.push(m),
    });
    this.pool.set(ref.id, worker);
    this.initResults.set(ref.id, worker.ready);
    return { worker, spawnedHere: true };
  }

  /** Output parents exist, old outputs are gone, a fresh scratch dir (docs/protocol/buck2-worker.md §6.1 step 3). */
  private async prepareAction(action: { outputs?: readonly string[]; name?: string }, actionId: number): Promise<string> {
    for (const output of action.outputs ?? []) {
      const abs = resolve(this.projectRoot, output);
      await rm(abs, { recursive: true, force: true });
      await mkdir(dirname(abs), { recursive: true });
    }
    const scratch = join("buck-out", "v2", "tmp", this.traceId.slice(0, 8), `${action.name ?? "action"}-${actionId}`);
    await mkdir(resolve(this.projectRoot, scratch), { recursive: true });
    return scratch;
  }

  /** TMPDIR, the sorted action env with BUCK_SCRATCH_PATH, BUCK2_DAEMON_UUID, BUCK_BUILD_ID (docs/protocol/buck2-worker.md §6.2). */
  requestEnv(action: { env?: Readonly<Record<string, string>> }, scratch: string): [string, string][] {
    const sorted: Record<string, string> = { ...(action.env ?? {}), BUCK_SCRATCH_PATH: scratch };
    const keys = Object.keys(sorted).sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
    return [
      ["TMPDIR", resolve(this.projectRoot, scratch)],
      ...keys.map((k): [string, string] => [k, sorted[k]!]),
      ["BUCK2_DAEMON_UUID", this.daemonUuid],
      ["BUCK_BUILD_ID", this.buildId],
    ];
  }

  private interpret(response: ExecuteResponse, action: WorkerAction, executor: Executor): ActionResult {
    if (response.timedOutAfterS !== undefined) {
      return { kind: "timed-out", executor, timedOutAfterS: response.timedOutAfterS, stderr: response.stderr, response };
    }
    if (response.exitCode !== 0) {
      return { kind: "failed", executor, exitCode: response.exitCode, stdout: "", stderr: response.stderr, response };
    }
    const missing = (action.outputs ?? []).filter((o) => !existsSync(resolve(this.projectRoot, o)));
    if (missing.length > 0) return { kind: "missing-outputs", executor, missing, stderr: response.stderr };
    return { kind: "success", executor, exitCode: 0, stdout: "", stderr: response.stderr, response };
  }

  /**
   * The end of the command: every worker gets SIGTERM, then SIGKILL after the shutdown timeout.
   * Throws HarnessFailure if SIGKILL was needed, processes survived, or Buck2 would have crashed.
   */
  async endCommand(): Promise<CommandReport> {
    this.ended = true;
    await Promise.allSettled([...this.initResults.values()]);
    const workers = await Promise.all([...this.pool.values()].map((w) => w.terminate(this.shutdownTimeoutMs)));
    const report: CommandReport = { workers, violations: [...this.violations] };
    const problems: string[] = [...report.violations];
    for (const w of workers) {
      if (w.neededSigkill) problems.push(`worker ${w.workerId} (pid ${w.pid}) ignored SIGTERM for ${this.shutdownTimeoutMs} ms and was SIGKILLed`);
      if (w.survivors.length > 0) problems.push(`worker ${w.workerId} (pid ${w.pid}) left processes behind: ${w.survivors.join(", ")}`);
    }
    if (problems.length > 0) throw new HarnessFailure(`the command ended badly:\n- ${problems.join("\n- ")}`, report);
    return report;
  }

  /** Watchdog for afterEach: SIGKILL every worker and its process group. Safe to call twice. */
  killAll(): void {
    this.ended = true;
    for (const w of this.pool.values()) w.kill();
  }
}

function initFailureResult(failure: InitFailure, executor: Executor): ActionResult {
  if (failure.kind === "early-exit") {
    return { kind: "failed", executor, exitCode: failure.exitCode, stdout: failure.stdout, stderr: failure.stderr };
  }
  if (failure.kind === "no-stream-headers") return { kind: "harness-violation", executor, message: failure.message };
  return { kind: "init-failure", executor, message: failure.message };
}

function runLocal(program: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(program, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const watchdog = setTimeout(() => {
      for (const p of descendants(child.pid ?? -1)) killQuietly(p);
      child.kill("SIGKILL");
    }, 120_000);
    child.on("error", (err) => {
      clearTimeout(watchdog);
      resolvePromise({ code: 127, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
