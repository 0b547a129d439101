import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { encodeWorkRequestJson, type JsonReading } from "./json-messages.js";
import { encodeWorkRequest, type WorkRequest, type WorkResponse } from "./messages.js";
import { ResponseStream, type Wire } from "./response-stream.js";
import { frame } from "./varint.js";

export interface WorkerSpawn {
  /** The executable's arguments: a script path first when `command` is node. */
  argv: string[];
  wire: Wire;
  /** How JSON responses are read (default "strict"). */
  jsonReading?: JsonReading;
  /** Default: this Node.js. */
  command?: string;
  cwd?: string;
  /** The worker's whole environment. */
  env?: NodeJS.ProcessEnv;
  /** SIGKILL the worker and its children after this long, whatever happens. */
  watchdogMs?: number;
  /** Survives killAllWorkers() until killAllWorkers(true): for a worker several tests share. */
  shared?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Map<BazelWorker, boolean>();

/** Kills (by PID, with their children) the workers a test left running; call from afterEach. */
export function killAllWorkers(includeShared = false): void {
  for (const [worker, shared] of live) {
    if (shared && !includeShared) continue;
    worker.killTree();
    live.delete(worker);
  }
}

/** Keep the head and the tail of stderr: flood tests print megabytes. */
const STDERR_CAP = 2_000_000;
/** Raw stdout kept for diagnostics and for "these bytes never reached stdout" checks. */
const RAW_STDOUT_CAP = 8 * 1024 * 1024;

/**
 * A Bazel-protocol client for a worker process: writes WorkRequests, reads every stdout byte as a
 * WorkResponse and records the first byte that is not one (`garbage`). Nothing here comes from the
 * bridge's sources, so the bridge cannot grade itself.
 */
export class BazelWorker {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every response, in arrival order. */
  readonly responses: WorkResponse[] = [];
  /** Description of the first stdout bytes that were not a well-formed WorkResponse. */
  garbage: string | undefined;
  stdoutBytes = 0;
  private readonly rawChunks: Buffer[] = [];
  stderr = "";
  exit: Exit | undefined;
  /** Resolves once the worker exited and its stdout and stderr are drained. */
  readonly exited: Promise<Exit>;
  private readonly stream: ResponseStream;
  private readonly claimed = new Set<number>();
  private listeners: (() => void)[] = [];
  private readonly watchdog: NodeJS.Timeout;

  constructor(readonly options: WorkerSpawn) {
    this.stream = new ResponseStream(options.wire, options.jsonReading ?? "strict");
    this.child = spawn(options.command ?? process.execPath, options.argv, {
      cwd: options.cwd ?? process.cwd(),
      env: options.env ?? { ...process.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.set(this, options.shared === true);
    this.watchdog = setTimeout(() => {
      this.stderr += "\n[test watchdog: SIGKILL]\n";
      this.killTree();
    }, options.watchdogMs ?? 60_000);
    this.child.stdout.on("data", (c: Buffer) => this.onStdout(c));
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (c: string) => {
      this.stderr = this.stderr.length > STDERR_CAP ? this.stderr.slice(0, STDERR_CAP / 2) + c.slice(-1000) : this.stderr + c;
      this.notify();
    });
    this.child.stdin.on("error", () => undefined); // EPIPE after the worker exits is expected
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        clearTimeout(this.watchdog);
        live.delete(this);
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  /** The first stdout bytes (at least 8 MiB of them), for diagnostics and "never on stdout" checks. */
  get rawStdout(): Buffer {
    return Buffer.concat(this.rawChunks);
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(req: WorkRequest): void {
    this.child.stdin.write(this.encode(req));
  }

  encode(req: WorkRequest): Buffer {
    return this.options.wire === "proto" ? frame(encodeWorkRequest(req)) : encodeWorkRequestJson(req, "compact");
  }

  sendRaw(bytes: Uint8Array): void {
    this.child.stdin.write(bytes);
  }

  cancel(requestId: number): void {
    this.send({ requestId, cancel: true });
  }

  /** Sends a request and resolves with the response carrying its id. */
  request(requestId: number, args: string[]): Promise<WorkResponse> {
    const answer = this.response(requestId);
    this.send({ requestId, arguments: args });
    return answer;
  }

  /** The first response with this id not yet returned by response(); rejects if the worker exits first. */
  async response(requestId: number, timeoutMs = 60_000): Promise<WorkResponse> {
    let found: WorkResponse | undefined;
    await this.until(`a response to request ${requestId}`, timeoutMs, () => {
      const i = this.responses.findIndex((r, i) => r.requestId === requestId && !this.claimed.has(i));
      if (i < 0) return false;
      this.claimed.add(i);
      found = this.responses[i];
      return true;
    });
    return found!;
  }

  /** Resolves once `n` responses have arrived; rejects (with stderr) if the worker exits or time runs out. */
  async waitForResponses(n: number, timeoutMs = 30_000): Promise<WorkResponse[]> {
    await this.until(`${n} responses`, timeoutMs, () => this.responses.length >= n);
    return this.responses.slice(0, n);
  }

  /** Resolves once stderr matches `pattern` (the bridge's log is how it tells what it is doing). */
  async waitForStderr(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null;
    await this.until(`stderr matching ${pattern}`, timeoutMs, () => (match = pattern.exec(this.stderr)) !== null);
    return match!;
  }

  /** Resolves with the exit; rejects if it does not come within `timeoutMs`. */
  async waitForExit(timeoutMs = 30_000): Promise<Exit & { ms: number }> {
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)))]);
    clearTimeout(timer);
    if (exit === undefined) throw new Error(`worker did not exit within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-3000)}`);
    return { ...exit, ms: Date.now() - start };
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  /** Closes stdin (Bazel's normal shutdown) and waits for the exit. */
  async end(): Promise<Exit> {
    this.child.stdin.end();
    return this.exited;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.exit !== undefined) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // gone
    }
  }

  /** The worker and its direct children (tool processes), by PID. */
  killTree(): void {
    if (this.exit === undefined) {
      for (const pid of childPids(this.pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    this.kill("SIGKILL");
  }

  /** Resolves at the next stdout or stderr chunk or the exit, or after `ms`. */
  activity(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.listeners.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Bytes or characters of a response still incomplete on stdout. */
  get pendingStdout(): number {
    return this.stream.pending;
  }

  /** After exit: undefined when stdout ended on a response boundary, else what was left over. */
  unfinishedResponse(): string | undefined {
    try {
      this.stream.end();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private async until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.exit !== undefined) {
        throw new Error(`worker exited (${JSON.stringify(this.exit)}) before ${what} (${this.responses.length} responses); stderr:\n${this.stderr.slice(-3000)}`);
      }
      if (this.garbage !== undefined) throw new Error(`waiting for ${what}: ${this.garbage}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.responses.length} responses); stderr:\n${this.stderr.slice(-3000)}`);
      await this.activity(Math.max(1, deadline - Date.now()));
    }
  }

  private notify(): void {
    const l = this.listeners;
    this.listeners = [];
    for (const f of l) f();
  }

  private onStdout(chunk: Buffer): void {
    this.stdoutBytes += chunk.length;
    if (this.stdoutBytes - chunk.length < RAW_STDOUT_CAP) this.rawChunks.push(chunk);
    if (this.garbage === undefined) {
      try {
        this.responses.push(...this.stream.push(chunk));
      } catch (err) {
        this.garbage = `${(err as Error).message}; chunk starts ${JSON.stringify(chunk.subarray(0, 80).toString("latin1"))}`;
      }
    }
    this.notify();
  }
}

/** Pids whose parent is `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 is the ppid; the command name (field 2) may hold spaces, so split after its ")".
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}
