import { rm } from "node:fs/promises";
import { ExecutorBase, oneShotResult, type EmulatorOptions } from "../executor-base.js";
import { collectOutputs, materializeInputs } from "../input-root.js";
import { runOneShot } from "../one-shot.js";
import { platformValue, type ActionResult, type ExecutionTrace, type RemoteAction, type RemoteExecutor } from "../remote-action.js";
import { encodeRequestJson, encodeRequestProto, seededRandom, type ExecutorWorkRequest, type WorkerWire } from "../work-messages.js";
import { WorkerProcess } from "../worker-process.js";
import type { SentRequest } from "./buildbuddy.js";

export interface NativeLinkOptions extends EmulatorOptions {
  readonly maxWorkersPerKey?: number;
  /** A worker is retired after this many requests (default 200). */
  readonly maxRequestsPerWorker?: number;
  /** An idle worker is retired after this long (default 5 minutes). */
  readonly idleTimeoutMs?: number;
  readonly onRequest?: (sent: SentRequest) => void;
}

interface PooledWorker {
  readonly process: WorkerProcess;
  idleTimer: NodeJS.Timeout | undefined;
}

interface KeyPool {
  readonly idle: PooledWorker[];
  size: number;
  readonly waiters: (() => void)[];
}

/**
 * NativeLink's persistent workers (docs/protocol/remote-executors.md §6, §10.2): triggered by
 * `supports-workers=1` plus `requires-worker-protocol`, keyed on the executable, the args up to
 * the first `@` and the wire format; requests carry **empty** `inputs` and `sandbox_dir` = the
 * action directory. What NativeLink does with `@argfile`s and `output` was not recorded: this
 * emulator takes the harder reading (argfiles unexpanded, resolved by the worker under
 * sandbox_dir) and sends `output` to stderr. Worker processes run in their own empty directory,
 * so a worker that ignored sandbox_dir would fail visibly.
 */
export class NativeLinkExecutor extends ExecutorBase implements RemoteExecutor {
  readonly profile = "nativelink" as const;
  private readonly pools = new Map<string, KeyPool>();
  private readonly all = new Set<PooledWorker>();
  private readonly random: () => number;

  constructor(private readonly options: NativeLinkOptions = {}) {
    super("nativelink", options);
    this.random = seededRandom(options.seed ?? 0x1ce);
  }

  livePids(): number[] {
    return [...this.all].flatMap((w) => (w.process.alive && w.process.pid !== undefined ? [w.process.pid] : []));
  }

  async execute(action: RemoteAction): Promise<ActionResult> {
    const actionDir = await this.newDir("actions");
    try {
      await materializeInputs(actionDir, action.inputRoot);
      const protocol = platformValue(action.platform, "requires-worker-protocol");
      const supports = platformValue(action.platform, "supports-workers") === "1";
      if (!supports || (protocol !== "proto" && protocol !== "json")) {
        const run = await runOneShot(action.arguments, { cwd: actionDir, env: this.envFor(action), timeoutMs: this.timeoutFor(action) });
        return oneShotResult(run, action.arguments, await collectOutputs(actionDir, action.outputPaths), this.timeoutFor(action));
      }
      return await this.runPersistent(action, actionDir, protocol);
    } finally {
      await rm(actionDir, { recursive: true, force: true });
    }
  }

  private async runPersistent(action: RemoteAction, actionDir: string, wire: WorkerWire): Promise<ActionResult> {
    const firstAt = action.arguments.findIndex((a) => a.startsWith("@"));
    const startup = firstAt < 0 ? [...action.arguments] : action.arguments.slice(0, firstAt);
    const requestArgs = firstAt < 0 ? [] : action.arguments.slice(firstAt);
    const argv = [...startup, "--persistent_worker"];
    const poolKey = JSON.stringify({ startup, wire });
    const { worker, started } = await this.acquire(poolKey, argv, action, wire);
    const trace: ExecutionTrace = { path: "persistent", argv, ...(worker.process.pid !== undefined ? { workerPid: worker.process.pid } : {}), workerStarted: started };
    let retire = false;
    try {
      const request: ExecutorWorkRequest = { arguments: requestArgs, inputs: [], sandboxDir: actionDir };
      const bytes = wire === "json" ? encodeRequestJson(request, this.random) : encodeRequestProto(request);
      this.options.onRequest?.({ wire, bytes, request, workerPid: worker.process.pid });
      const outcome = await worker.process.exec(bytes, this.timeoutFor(action));
      if (!outcome.ok) {
        retire = true;
        const how = await worker.process.stop({ signal: "SIGTERM", graceMs: 5_000 });
        const code = outcome.kind === "timeout" ? "DEADLINE_EXCEEDED" : "UNAVAILABLE";
        return { status: { code, message: `${outcome.message}; worker stderr: ${outcome.stderr}` }, exitCode: -1, stdout: "", stderr: outcome.stderr, outputFiles: {}, execution: { ...trace, workerStopped: how } };
      }
      retire = worker.process.requestsServed >= (this.options.maxRequestsPerWorker ?? 200);
      return {
        status: { code: "OK", message: "" },
        exitCode: outcome.response.exitCode,
        stdout: "",
        stderr: outcome.response.output,
        outputFiles: await collectOutputs(actionDir, action.outputPaths),
        execution: trace,
      };
    } finally {
      this.release(poolKey, worker, retire);
    }
  }

  private async acquire(poolKey: string, argv: string[], action: RemoteAction, wire: WorkerWire): Promise<{ worker: PooledWorker; started: boolean }> {
    let pool = this.pools.get(poolKey);
    if (!pool) {
      pool = { idle: [], size: 0, waiters: [] };
      this.pools.set(poolKey, pool);
    }
    const max = this.options.maxWorkersPerKey ?? 4;
    for (;;) {
      const idle = pool.idle.pop();
      if (idle) {
        clearTimeout(idle.idleTimer);
        if (idle.process.alive) return { worker: idle, started: false };
        this.all.delete(idle);
        pool.size--;
        continue;
      }
      if (pool.size < max) break;
      await new Promise<void>((resolve) => pool.waiters.push(resolve));
    }
    pool.size++;
    const cwd = await this.newDir("workers");
    const worker: PooledWorker = { process: new WorkerProcess({ argv, cwd, env: this.envFor(action), wire }), idleTimer: undefined };
    this.all.add(worker);
    return { worker, started: true };
  }

  private release(poolKey: string, worker: PooledWorker, retire: boolean): void {
    const pool = this.pools.get(poolKey)!;
    if (retire || !worker.process.alive) {
      this.all.delete(worker);
      pool.size--;
      void worker.process.stop({ graceMs: 10_000 });
    } else {
      worker.idleTimer = setTimeout(() => {
        const i = pool.idle.indexOf(worker);
        if (i < 0) return;
        pool.idle.splice(i, 1);
        pool.size--;
        this.all.delete(worker);
        void worker.process.stop({ graceMs: 10_000 });
      }, this.options.idleTimeoutMs ?? 5 * 60_000);
      worker.idleTimer.unref();
      pool.idle.push(worker);
    }
    pool.waiters.shift()?.();
  }

  async close(): Promise<void> {
    for (const w of this.all) clearTimeout(w.idleTimer);
    await Promise.all([...this.all].map((w) => w.process.stop({ graceMs: 10_000 })));
    this.all.clear();
    this.pools.clear();
    await this.removeRoot();
  }
}
