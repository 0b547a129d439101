import { constants as osConstants } from "node:os";
import type { HostResult, PreparedJob } from "../core/job.js";
import type { Logger } from "../core/logger.js";
import type { ToHostMessage } from "./tool-process-ipc.js";
import { StderrTail } from "./stderr-tail.js";

/** What a worker (a child process or a thread) reports to the ToolProcess that drives it. */
export interface WorkerEvents {
  message(message: ToHostMessage): void;
  /** The channel carried something unreadable. */
  broken(reason: string): void;
  /** Writes that escaped the tool's output capture. */
  stdout(text: string): void;
  stderr(text: string): void;
  /** Once, when the worker is gone; `startError` when it never started. */
  exit(code: number | null, signal: NodeJS.Signals | null, startError?: string): void;
}

/** The host's end of one worker: how frames reach it and how it is stopped. */
export interface WorkerLink {
  /** pid of a tool process, thread id of a tool thread. */
  readonly id: number;
  /** How crash reports and answers name it: "process 1234", "thread 3". */
  readonly where: string;
  /** The pid a job's answer names: the child's, or the bridge's own for a thread. */
  readonly hostPid: number;
  run(seq: number, job: PreparedJob): void;
  abort(seq: number, reason: string): void;
  /** Finish the jobs it has, dispose the tool and exit. */
  retire(): void;
  /** Ends it now (SIGKILL, Worker.terminate()). */
  kill(): void;
  /** Stops reading the channel (after garbage on it). */
  close(): void;
}

export type LaunchWorker = (events: WorkerEvents) => WorkerLink;

export interface ToolProcessOptions {
  /** Starts the worker (a child process: launchToolProcess; a thread: ThreadHost's). */
  launch: LaunchWorker;
  toolName: string;
  abortGraceMs: number;
  logger: Logger;
  /** Called once when an aborted job overstayed its grace; the owner kills the process. */
  onHardCancelDue(proc: ToolProcess, job: PreparedJob): void;
  /** Called after every answered job (recycling decisions). */
  onJobDone(proc: ToolProcess): void;
  /** Called once, after the process is gone and every job it held has been answered. */
  onExit(proc: ToolProcess, exit: ToolProcessExit): void;
}

export interface ToolProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True unless the host asked it to go (retire, hard cancel, shutdown). */
  unexpected: boolean;
  /** Init failure message, when the tool never became ready. */
  initFailure?: string;
}

/**
 * Extra grace for an aborted job while its process is still loading the tool. The process host
 * counts it in its `abortAllowanceMs`, which sizes the dispatcher's backstop
 * (src/runtime/abort-timers.ts).
 */
export const STARTUP_ALLOWANCE_MS = 10_000;

/** Why the host ended a process on purpose; shapes the answers of the jobs it was running. */
type Ending =
  | { kind: "retire" }
  | { kind: "shutdown" }
  | { kind: "hard-cancel"; jobId: number; graceMs: number };

interface InFlight {
  readonly job: PreparedJob;
  readonly resolve: (r: HostResult) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  graceTimer: NodeJS.Timeout | undefined;
  aborted: boolean;
}

/** One tool worker (child process or thread): sends it jobs, answers each exactly once, also when it dies. */
export class ToolProcess {
  private readonly link: WorkerLink;
  /** pid of a process, thread id of a thread. */
  readonly pid: number;
  private readonly hostPid: number;
  /** Jobs sent to this process over its life (for --max-requests-per-tool). */
  served = 0;
  /** Memory in bytes after the last job, as the worker measured it (RSS of a process, heap of a thread). */
  lastRss = 0;
  /** No new jobs: set when the process is recycled, hard-cancelled or shut down. */
  draining = false;
  private readonly inFlight = new Map<number, InFlight>();
  private nextSeq = 1;
  private readonly stderr = new StderrTail();
  private ending: Ending | undefined;
  private initFailure: string | undefined;
  private exited = false;
  private ready = false;
  readonly exitedPromise: Promise<void>;
  private markExited!: () => void;

  constructor(private readonly options: ToolProcessOptions) {
    this.exitedPromise = new Promise((r) => (this.markExited = r));
    this.link = options.launch({
      message: (message) => this.onMessage(message),
      broken: (reason) => this.channelBroken(reason),
      stdout: (text) => this.onStrayStdout(text),
      stderr: (text) => this.onStderr(text),
      exit: (code, signal, startError) => this.finish(code, signal, startError),
    });
    this.pid = this.link.id;
    this.hostPid = this.link.hostPid;
  }

  get load(): number {
    return this.inFlight.size;
  }

  get alive(): boolean {
    return !this.exited;
  }

  run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    return new Promise<HostResult>((resolve) => {
      const seq = this.nextSeq++;
      this.served++;
      const entry: InFlight = {
        job,
        resolve,
        signal,
        graceTimer: undefined,
        aborted: false,
        onAbort: () => this.abortJob(seq),
      };
      this.inFlight.set(seq, entry);
      signal.addEventListener("abort", entry.onAbort, { once: true });
      if (!this.exited) this.link.run(seq, job);
      if (signal.aborted) this.abortJob(seq);
    });
  }

  /** Stop taking jobs; exit cleanly once the current ones are answered. */
  retire(kind: "retire" | "shutdown" = "retire"): void {
    this.draining = true;
    this.ending ??= { kind };
    if (!this.exited) this.link.retire();
  }

  /** Kills the process now (hard cancel, or a retire that took too long). */
  kill(ending?: Ending): void {
    this.draining = true;
    if (ending) this.ending = ending;
    this.ending ??= { kind: "shutdown" };
    if (!this.exited) this.link.kill();
  }

  private abortJob(seq: number): void {
    const entry = this.inFlight.get(seq);
    if (!entry || entry.aborted) return;
    entry.aborted = true;
    if (!this.exited) this.link.abort(seq, describeReason(entry.signal.reason));
    this.armGrace(entry);
  }

  /**
   * The grace counts from when the tool could see the abort: a process still loading its tool gets
   * the load time on top (bounded, so a hanging init is still killed).
   */
  private armGrace(entry: InFlight): void {
    clearTimeout(entry.graceTimer);
    const grace = this.ready ? this.options.abortGraceMs : this.options.abortGraceMs + STARTUP_ALLOWANCE_MS;
    entry.graceTimer = setTimeout(() => this.options.onHardCancelDue(this, entry.job), grace);
  }

  /** Garbage on the channel (a tool writing to fd 3?): nothing more from it can be trusted. */
  private channelBroken(reason: string): void {
    this.options.logger.error(`tool ${this.link.where} sent an unreadable message; killing it`, { reason });
    this.link.close();
    this.kill();
    this.ending = undefined;
  }

  private onMessage(message: ToHostMessage): void {
    if (message.t === "done") {
      if (message.rss >= 0) this.lastRss = message.rss;
      this.settle(message.seq, { exitCode: message.exitCode, output: message.output, hostPid: this.hostPid });
      this.options.onJobDone(this);
    } else if (message.t === "ready") {
      this.ready = true;
      for (const entry of this.inFlight.values()) if (entry.aborted) this.armGrace(entry);
    } else if (message.t === "init-failed") {
      this.initFailure = message.message;
    }
  }

  private settle(seq: number, result: HostResult): void {
    const entry = this.inFlight.get(seq);
    if (!entry) return;
    this.inFlight.delete(seq);
    clearTimeout(entry.graceTimer);
    entry.signal.removeEventListener("abort", entry.onAbort);
    entry.resolve(result);
  }

  private onStderr(text: string): void {
    for (const line of this.stderr.push(text)) {
      if (line.length > 0) this.options.logger.warn("tool stderr", { ...this.logId(), line });
    }
  }

  private onStrayStdout(text: string): void {
    // Never forwarded to fd 1: the protocol owns it. Named here so the culprit can be found.
    this.options.logger.warn(`tool ${this.link.where.split(" ")[0]} wrote to its stdout outside any request; kept off the protocol stream`, {
      ...this.logId(),
      text: text.length > 500 ? `${text.slice(0, 500)}…` : text,
    });
  }

  /** `pid=N` for a process, `thread=N` for a thread, in log lines. */
  logId(): Record<string, number> {
    return this.link.where.startsWith("thread") ? { thread: this.pid } : { pid: this.pid };
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, startError?: string): void {
    if (this.exited) return;
    this.exited = true;
    this.draining = true;
    // A recycled process that dies instead of exiting 0 crashed all the same.
    const ending = this.ending?.kind === "retire" && (code !== 0 || signal !== null) ? undefined : this.ending;
    const unexpected = ending === undefined;
    const how = startError ?? describeExit(code, signal);
    const tail = this.stderr.text();
    const oom = /heap out of memory|Reached heap limit|JavaScript heap/i.test(tail) ? " (it ran out of memory)" : "";
    const tailNote = tail.length > 0 ? `last lines of its stderr:\n${indent(tail)}` : "its stderr was empty";
    for (const [seq, entry] of [...this.inFlight]) {
      let output: string;
      if (this.initFailure !== undefined) {
        output = `worker-bridge: tool ${this.options.toolName} failed to initialise in ${this.link.where}:\n${indent(this.initFailure)}`;
      } else if (ending?.kind === "hard-cancel" && ending.jobId === entry.job.id && entry.aborted) {
        output = `worker-bridge: request ${entry.job.id} did not stop within ${ending.graceMs} ms of being aborted; tool ${this.link.where} was killed`;
      } else if (ending?.kind === "hard-cancel") {
        output = `worker-bridge: tool ${this.link.where} was killed while running request ${entry.job.id} because request ${ending.jobId} on the same process did not stop after being aborted`;
      } else if (ending?.kind === "shutdown" || ending?.kind === "retire") {
        output = `worker-bridge: tool ${this.link.where} was stopped while running request ${entry.job.id} (worker-bridge is shutting down)`;
      } else {
        output = `worker-bridge: tool ${this.link.where} (${this.options.toolName}) ${how}${oom} while running request ${entry.job.id}; ${tailNote}`;
      }
      this.settle(seq, { exitCode: crashExitCode(code, signal), output, hostPid: this.hostPid, crashed: true });
    }
    this.markExited();
    this.options.onExit(this, {
      code,
      signal,
      unexpected,
      ...(this.initFailure !== undefined ? { initFailure: this.initFailure } : {}),
    });
  }
}


export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by signal ${signal}`;
  if (code !== null) return `exited with code ${code}`;
  return "exited";
}

/** Non-zero always: the tool's own code, or 128+signal like a shell. */
function crashExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (osConstants.signals[signal] ?? 0);
  if (code !== null && code !== 0) return code;
  return 1;
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return String(reason ?? "aborted");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
