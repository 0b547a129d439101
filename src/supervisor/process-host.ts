import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HostResult, HostStats, PreparedJob, ToolHost } from "../core/job.js";
import type { Logger } from "../core/logger.js";
import type { ToolDefinition } from "../tool-api/define-tool.js";
import { CrashLoopDetector } from "./crash-loop.js";
import { singleFileBuild } from "../single-file-build.js";
import { EnvBase, TOOL_PROCESS_CONFIG_ENV, type ToolProcessConfig } from "./tool-process-ipc.js";
import { describeExit, type LaunchWorker, STARTUP_ALLOWANCE_MS, ToolProcess, type ToolProcessExit } from "./tool-process.js";
import { launchToolProcess } from "./launch-tool-process.js";

/** What a host needs to know about the tool and its limits. */
export interface ProcessHostOptions {
  /** Importable URL of the tool module (process hosts load it in each child). */
  toolModule: string;
  tool: ToolDefinition<unknown>;
  startupArgs: readonly string[];
  /** Jobs the front door may run at once; sizes the pool. */
  concurrency: number;
  /** Most tool processes at once; default: enough for `concurrency`, at most the CPU count. */
  toolProcesses?: number | undefined;
  abortGraceMs: number;
  maxRequestsPerToolProcess?: number | undefined;
  maxToolProcessMemoryMb?: number | undefined;
  logger: Logger;
}

/** Counters for the exit summary and tests. */
export interface ProcessHostStats extends HostStats {
  processesStarted: number;
  processesAlive: number;
  crashes: number;
  recycles: number;
  hardKills: number;
  /** Jobs answered with the crash-loop error instead of being run. */
  crashLoopRejections: number;
}

/** What the pool is made of: child processes (this host) or threads (ThreadHost). */
export interface ToolWorkers {
  /** How logs name one: "tool process", "tool thread". */
  noun: string;
  nouns: string;
  /** What a worker measures after each job for --max-tool-memory-mb: its RSS, or a thread's JS heap + external memory. */
  memory: "rss" | "heap";
  launch: LaunchWorker;
}

/** Crash-loop policy: this many unexpected process deaths within the window stop restarts. */
const CRASH_LOOP_LIMIT = 5;
const CRASH_LOOP_WINDOW_MS = 60_000;
/** How long a retired or shut-down process gets to dispose its tool before it is killed. */
const RETIRE_GRACE_MS = 5_000;

/**
 * Hosts the tool in long-lived child processes (`--host=process`): a crash, a leak or a stray
 * print in the tool costs at most the jobs of one process, never the bridge or its connection.
 * Jobs go to the least-loaded process; processes start when needed, are reused, recycled over
 * their request or memory budget, replaced when they die, and killed when an aborted job
 * overstays its grace.
 */
export class ProcessHost implements ToolHost {
  readonly capacity: number;
  private readonly perProcess: number;
  private readonly maxProcesses: number;
  private readonly processes: ToolProcess[] = [];
  /** Retired processes still finishing jobs or disposing: tracked so shutdown leaves no orphans. */
  private readonly leaving = new Set<ToolProcess>();
  private readonly waiting: { wake: () => void }[] = [];
  private readonly crashLoop = new CrashLoopDetector(CRASH_LOOP_LIMIT, CRASH_LOOP_WINDOW_MS);
  private lastCrash = "";
  private closing = false;
  private readonly workers: ToolWorkers;
  private readonly counts: Omit<ProcessHostStats, "processesAlive"> = {
    processesStarted: 0,
    crashes: 0,
    recycles: 0,
    hardKills: 0,
    crashLoopRejections: 0,
  };

  constructor(
    private readonly options: ProcessHostOptions,
    workers?: ToolWorkers,
  ) {
    this.perProcess = Math.max(1, Math.floor(options.tool.maxConcurrentJobs ?? 1));
    const wanted = Math.ceil(Math.max(1, options.concurrency) / this.perProcess);
    this.maxProcesses = options.toolProcesses ?? Math.max(1, Math.min(wanted, availableParallelism()));
    this.capacity = Math.min(Number.MAX_SAFE_INTEGER, this.maxProcesses * this.perProcess);
    this.workers = workers ?? toolProcesses(options);
  }

  /** A job aborted while its process is still loading the tool gets the load time on top. */
  get abortAllowanceMs(): number {
    return this.options.abortGraceMs + STARTUP_ALLOWANCE_MS;
  }

  stats(): ProcessHostStats {
    return { ...this.counts, processesAlive: this.processes.length + this.leaving.size };
  }

  /** Pids of the live tool processes (tests and diagnostics). */
  pids(): number[] {
    return [...this.processes, ...this.leaving].map((p) => p.pid);
  }

  async run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    for (;;) {
      if (this.closing) return { exitCode: 1, output: `worker-bridge: request ${job.id} was not run: worker-bridge is shutting down` };
      if (signal.aborted) return { exitCode: 1, output: `worker-bridge: request ${job.id} was aborted before a tool process took it` };
      const proc = this.pick();
      if (proc === "crash-loop") return this.crashLoopAnswer(job);
      if (proc) return proc.run(job, signal);
      await this.waitForSlot(signal);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waiting.splice(0)) w.wake();
    const all = [...this.processes, ...this.leaving];
    for (const p of all) p.retire("shutdown");
    await Promise.all(
      all.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([p.exitedPromise, new Promise<void>((r) => (timer = setTimeout(r, RETIRE_GRACE_MS)))]);
        clearTimeout(timer);
        if (p.alive) {
          p.kill();
          await p.exitedPromise;
        }
      }),
    );
  }

  /** The least-loaded process with a free slot, a new one when all are busy and the pool has room. */
  private pick(): ToolProcess | "crash-loop" | undefined {
    let best: ToolProcess | undefined;
    for (const p of this.processes) {
      if (p.draining || p.load >= this.perProcess) continue;
      if (!best || p.load < best.load) best = p;
    }
    if (best && best.load === 0) return best;
    if (this.processes.length < this.maxProcesses) {
      // In a crash loop, surviving processes still serve (wait for one); only an empty pool refuses.
      if (this.crashLoop.blockedForMs() > 0) return best ?? (this.processes.length > 0 ? undefined : "crash-loop");
      return this.start();
    }
    return best;
  }

  private start(): ToolProcess {
    const { logger } = this.options;
    const { noun } = this.workers;
    const proc = new ToolProcess({
      launch: this.workers.launch,
      toolName: this.options.tool.name,
      abortGraceMs: this.options.abortGraceMs,
      logger,
      onHardCancelDue: (p, job) => {
        if (!p.alive) return;
        this.counts.hardKills++;
        logger.warn(`hard cancel: an aborted request did not stop in time; killing its ${noun}`, {
          ...p.logId(),
          id: job.id,
          graceMs: this.options.abortGraceMs,
        });
        this.detach(p);
        p.kill({ kind: "hard-cancel", jobId: job.id, graceMs: this.options.abortGraceMs });
      },
      onJobDone: (p) => this.afterJob(p),
      onExit: (p, exit) => this.onExit(p, exit),
    });
    this.counts.processesStarted++;
    this.processes.push(proc);
    logger.debug(`${noun} started`, { ...proc.logId(), tool: this.options.tool.name, pool: this.processes.length });
    return proc;
  }

  private afterJob(p: ToolProcess): void {
    const { maxRequestsPerToolProcess, maxToolProcessMemoryMb, logger } = this.options;
    if (!p.draining) {
      const overRequests = maxRequestsPerToolProcess !== undefined && p.served >= maxRequestsPerToolProcess;
      const overMemory = maxToolProcessMemoryMb !== undefined && p.lastRss > maxToolProcessMemoryMb * 1024 * 1024;
      if (overRequests || overMemory) {
        this.counts.recycles++;
        logger.info(`recycling ${this.workers.noun}`, {
          ...p.logId(),
          reason: overMemory ? "memory" : "requests",
          served: p.served,
          [`${this.workers.memory}Mb`]: Math.round(p.lastRss / (1024 * 1024)),
        });
        this.detach(p);
        // Its in-flight jobs finish first: the child exits only when it has none left.
        p.retire("retire");
        // Start the replacement now, so the next request does not wait for a tool to load.
        if (!this.closing && this.processes.length < this.maxProcesses) this.start();
      }
    }
    this.wakeOne();
  }

  /** Takes a process out of rotation (a replacement starts on demand) but keeps tracking it. */
  private detach(p: ToolProcess): void {
    const i = this.processes.indexOf(p);
    if (i >= 0) this.processes.splice(i, 1);
    if (p.alive) this.leaving.add(p);
  }

  private onExit(p: ToolProcess, exit: ToolProcessExit): void {
    this.detach(p);
    this.leaving.delete(p);
    if (exit.unexpected && !this.closing) {
      this.counts.crashes++;
      this.crashLoop.record();
      this.lastCrash = exit.initFailure !== undefined ? `init failed: ${firstLine(exit.initFailure)}` : describeExit(exit.code, exit.signal);
      this.options.logger.warn(`${this.workers.noun} died`, {
        ...p.logId(),
        code: exit.code ?? undefined,
        signal: exit.signal ?? undefined,
        initFailed: exit.initFailure !== undefined ? true : undefined,
      });
      if (this.crashLoop.blockedForMs() > 0 && this.processes.length === 0) {
        this.options.logger.error(`${this.workers.nouns} are crash-looping; not restarting them for now`, {
          crashes: CRASH_LOOP_LIMIT,
          windowS: CRASH_LOOP_WINDOW_MS / 1000,
          last: this.lastCrash,
        });
      }
    } else {
      this.options.logger.debug(`${this.workers.noun} exited`, { ...p.logId(), code: exit.code ?? undefined, signal: exit.signal ?? undefined });
    }
    // Waiters may now start a replacement, or learn that the pool is crash-looping.
    for (const w of this.waiting.splice(0)) w.wake();
  }

  private crashLoopAnswer(job: PreparedJob): HostResult {
    this.counts.crashLoopRejections++;
    const seconds = Math.ceil(this.crashLoop.blockedForMs() / 1000);
    return {
      exitCode: 1,
      crashed: true,
      output:
        `worker-bridge: request ${job.id} was not run: tool ${this.options.tool.name} crashed ${CRASH_LOOP_LIMIT} times ` +
        `within ${CRASH_LOOP_WINDOW_MS / 1000}s (last: ${this.lastCrash}), so worker-bridge stopped restarting it; ` +
        `it will try again in ${seconds}s. See the worker log (stderr) for the crash reports.`,
    };
  }

  private waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter = {
        wake: (): void => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve();
      };
      this.waiting.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private wakeOne(): void {
    this.waiting.shift()?.wake();
  }
}

/** Child processes running tool-process-main, configured through their environment. */
function toolProcesses(options: ProcessHostOptions): ToolWorkers {
  const baseEnv = { ...(process.env as Record<string, string>) };
  const config: ToolProcessConfig = {
    toolModule: options.toolModule,
    startupArgs: options.startupArgs,
    reportRss: options.maxToolProcessMemoryMb !== undefined,
  };
  return {
    noun: "tool process",
    nouns: "tool processes",
    memory: "rss",
    launch: launchToolProcess({
      entry: childEntry(),
      // A debugger port cannot be shared: the bridge's --inspect must not leak into its children.
      execArgv: process.execArgv.filter((a) => !/^--inspect|^--debug/.test(a)),
      env: { ...baseEnv, [TOOL_PROCESS_CONFIG_ENV]: JSON.stringify(config) },
      jobBaseEnv: new EnvBase(baseEnv),
      logger: options.logger,
    }),
  };
}

/**
 * tool-process-main next to this file: `.js` when built, `.ts` when run from source under tsx. The
 * single-file build forks itself: src/bundle-main.ts starts the tool process role when it finds
 * the config variable this host sets.
 */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (singleFileBuild) return here;
  const js = join(dirname(here), "tool-process-main.js");
  if (existsSync(js)) return js;
  return join(dirname(here), "tool-process-main.ts");
}

function firstLine(text: string): string {
  const nl = text.indexOf("\n");
  return nl < 0 ? text : text.slice(0, nl);
}
