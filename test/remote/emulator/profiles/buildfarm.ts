import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { isAbsolute, normalize } from "node:path";
import { ExecutorBase, oneShotResult, type EmulatorOptions } from "../executor-base.js";
import { collectOutputs, copyFiles, inputDigests, materializeInputs, moveOutputs, removeFiles } from "../input-root.js";
import { runOneShot } from "../one-shot.js";
import { platformValue, type ActionResult, type ExecutionTrace, type RemoteAction, type RemoteExecutor } from "../remote-action.js";
import { encodeRequestProto, type ExecutorWorkRequest } from "../work-messages.js";
import { WorkerProcess } from "../worker-process.js";
import type { SentRequest } from "./buildbuddy.js";

export interface BuildfarmOptions extends EmulatorOptions {
  /** `BUILDFARM_MAX_WORKERS_PER_KEY` (default 6). */
  readonly maxWorkersPerKey?: number;
  readonly onRequest?: (sent: SentRequest) => void;
}

interface PooledWorker {
  readonly process: WorkerProcess;
  readonly execRoot: string;
}

interface KeyPool {
  readonly idle: PooledWorker[];
  size: number;
  readonly waiters: (() => void)[];
}

const BUILDFARM_FLAGFILE = (arg: string): boolean => arg.startsWith("@") || arg.startsWith("--flagfile") || arg.startsWith("-flagfile");

/**
 * Buildfarm's persistent executor (docs/protocol/remote-executors.md §5, §10.2): keyed on the exec
 * command, init args, env and tool inputs; the worker lives in a private exec root with the tools
 * copied in; each request gets its inputs copied in and removed afterwards; the `@argfile` goes
 * to the worker unexpanded; outputs move back only on exit 0; `output` → stdout.
 */
export class BuildfarmExecutor extends ExecutorBase implements RemoteExecutor {
  readonly profile = "buildfarm" as const;
  private readonly pools = new Map<string, KeyPool>();
  private readonly all = new Set<PooledWorker>();

  constructor(private readonly options: BuildfarmOptions = {}) {
    super("buildfarm", options);
  }

  livePids(): number[] {
    return [...this.all].flatMap((w) => (w.process.alive && w.process.pid !== undefined ? [w.process.pid] : []));
  }

  async execute(action: RemoteAction): Promise<ActionResult> {
    const actionDir = await this.newDir("operations");
    try {
      await materializeInputs(actionDir, action.inputRoot);
      const key = platformValue(action.platform, "persistentWorkerKey") ?? "";
      if (key === "") {
        const run = await runOneShot(action.arguments, { cwd: actionDir, env: this.envFor(action), timeoutMs: this.timeoutFor(action) });
        return oneShotResult(run, action.arguments, await collectOutputs(actionDir, action.outputPaths), this.timeoutFor(action));
      }
      return await this.runPersistent(action, actionDir);
    } finally {
      await rm(actionDir, { recursive: true, force: true });
    }
  }

  private async runPersistent(action: RemoteAction, actionDir: string): Promise<ActionResult> {
    const exe = action.arguments[0] ?? "";
    const toolPaths = Object.entries(action.inputRoot)
      .filter(([, f]) => typeof f !== "string" && f.toolInput === true)
      .map(([p]) => p);
    const argv = [...action.arguments.filter((a) => !BUILDFARM_FLAGFILE(a)), "--persistent_worker"];
    const trace: ExecutionTrace = { path: "persistent", argv };
    if (!isAbsolute(exe) && !toolPaths.map((p) => normalize(p)).includes(normalize(exe))) {
      // PersistentExecutor cannot locate the worker binary: the exception becomes exit code -1.
      return {
        status: { code: "OK", message: "" },
        exitCode: -1,
        stdout: `java.lang.IllegalArgumentException: persistent worker binary ${JSON.stringify(exe)} is neither an absolute path nor an input marked bazel_tool_input\n`,
        stderr: "",
        outputFiles: {},
        execution: trace,
      };
    }
    const toolDigests = inputDigests(Object.fromEntries(toolPaths.map((p) => [p, action.inputRoot[p]!])));
    const poolKey = createHash("sha256").update(JSON.stringify({ argv, env: action.env, tools: toolDigests })).digest("hex");
    const { worker, started } = await this.acquire(poolKey, argv, action, actionDir, toolPaths);
    const requestInputs = Object.keys(action.inputRoot).filter((p) => !toolPaths.includes(p));
    let destroy = false;
    try {
      await copyFiles(actionDir, worker.execRoot, requestInputs);
      const request: ExecutorWorkRequest = {
        arguments: action.arguments.filter(BUILDFARM_FLAGFILE),
        inputs: inputDigests(action.inputRoot).map((i) => ({ path: i.path, digest: Buffer.from(i.digest.hash, "utf8") })),
      };
      const bytes = encodeRequestProto(request);
      this.options.onRequest?.({ wire: "proto", bytes, request, workerPid: worker.process.pid });
      const outcome = await worker.process.exec(bytes, this.timeoutFor(action));
      const fullTrace: ExecutionTrace = { ...trace, ...(worker.process.pid !== undefined ? { workerPid: worker.process.pid } : {}), workerStarted: started };
      if (!outcome.ok) {
        destroy = true;
        const how = await worker.process.stop({ signal: "SIGTERM", graceMs: 5_000 });
        if (outcome.kind === "timeout") {
          return { status: { code: "DEADLINE_EXCEEDED", message: outcome.message }, exitCode: -1, stdout: "", stderr: outcome.stderr, outputFiles: {}, execution: { ...fullTrace, workerStopped: how } };
        }
        return {
          status: { code: "OK", message: "" },
          exitCode: -1,
          stdout: `persistent worker failed: ${worker.process.spawnError ?? outcome.message}\n`,
          stderr: outcome.stderr,
          outputFiles: {},
          execution: { ...fullTrace, workerStopped: how },
        };
      }
      const { exitCode, output } = outcome.response;
      if (exitCode === 0) await moveOutputs(worker.execRoot, actionDir, action.outputPaths);
      return {
        status: { code: "OK", message: "" },
        exitCode,
        stdout: output,
        stderr: outcome.stderr,
        outputFiles: await collectOutputs(actionDir, action.outputPaths),
        execution: fullTrace,
      };
    } finally {
      await removeFiles(worker.execRoot, [...requestInputs, ...(action.outputPaths ?? [])]);
      this.release(poolKey, worker, destroy);
    }
  }

  private async acquire(
    poolKey: string,
    argv: string[],
    action: RemoteAction,
    actionDir: string,
    toolPaths: string[],
  ): Promise<{ worker: PooledWorker; started: boolean }> {
    let pool = this.pools.get(poolKey);
    if (!pool) {
      pool = { idle: [], size: 0, waiters: [] };
      this.pools.set(poolKey, pool);
    }
    const max = this.options.maxWorkersPerKey ?? 6;
    for (;;) {
      const idle = pool.idle.pop();
      if (idle && idle.process.alive) return { worker: idle, started: false };
      if (idle) {
        this.all.delete(idle);
        pool.size--;
        continue;
      }
      if (pool.size < max) break;
      await new Promise<void>((resolve) => pool.waiters.push(resolve));
    }
    pool.size++;
    // /tmp/worker/persistent/<key>/<uuid>, with the tool inputs copied in once.
    const execRoot = await this.newDir(`worker/persistent/${poolKey.slice(0, 16)}`);
    await mkdir(execRoot, { recursive: true });
    await copyFiles(actionDir, execRoot, toolPaths);
    const worker: PooledWorker = { process: new WorkerProcess({ argv, cwd: execRoot, env: this.envFor(action), wire: "proto" }), execRoot };
    this.all.add(worker);
    return { worker, started: true };
  }

  private release(poolKey: string, worker: PooledWorker, destroy: boolean): void {
    const pool = this.pools.get(poolKey)!;
    if (destroy || !worker.process.alive) {
      this.all.delete(worker);
      pool.size--;
      void worker.process.stop({ graceMs: 5_000 });
    } else {
      pool.idle.push(worker);
    }
    pool.waiters.shift()?.();
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((w) => w.process.stop({ graceMs: 10_000 })));
    this.all.clear();
    this.pools.clear();
    await this.removeRoot();
  }
}
