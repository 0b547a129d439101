// A strict "fake Bazel" for the reliability suites: spawns the built CLI as a persistent worker,
// writes WorkRequests the way Bazel does (docs/protocol/bazel-worker.md §2) and parses stdout the way Bazel does —
// any byte that is not part of a well-formed WorkResponse is recorded as garbage (docs/protocol/bazel-worker.md §7.1).
// Every child is killed by PID by a watchdog, so a hung worker fails a test instead of hanging it.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WorkRequestSchema, WorkResponseSchema } from "../../../src/gen/bazel/worker_protocol_pb.js";
import { FrameDecoder, frameMessage } from "../../../src/protocol/bazel/framing.js";
import { JsonValueSplitter } from "../../../src/protocol/bazel/json-splitter.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../../dist/cli.js", import.meta.url));

export type Protocol = "proto" | "json";

export interface Response {
  exitCode: number;
  output: string;
  requestId: number;
  wasCancelled: boolean;
}

export interface Request {
  arguments?: string[];
  requestId?: number;
  cancel?: boolean;
  verbosity?: number;
  sandboxDir?: string;
  inputs?: { path: string; digest: Uint8Array }[];
}

export interface WorkerOptions {
  protocol: Protocol;
  /** Extra bridge/tool flags (e.g. --host=process, --max-message-mb=1). */
  args?: string[];
  tool?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Hard kill after this long, whatever happens. */
  watchdogMs?: number;
  /** Used by several tests: survives killAllWorkers() until killAllWorkers(true). */
  shared?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Map<ChildProcess, boolean>();

/** Kills (by PID) every worker a test left running; call from afterEach (shared ones from afterAll). */
export function killAllWorkers(includeShared = false): void {
  for (const [child, shared] of live) {
    if (shared && !includeShared) continue;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    live.delete(child);
  }
}

/** Resolves once `pid` is gone (killed and reaped); rejects after `timeoutMs`. */
export async function waitForDeath(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function encodeRequest(protocol: Protocol, req: Request): Buffer {
  if (protocol === "proto") return frameMessage(toBinary(WorkRequestSchema, create(WorkRequestSchema, req)));
  const body: Record<string, unknown> = {};
  if (req.arguments?.length) body.arguments = req.arguments;
  if (req.requestId) body.requestId = req.requestId;
  if (req.cancel) body.cancel = true;
  if (req.verbosity) body.verbosity = req.verbosity;
  if (req.sandboxDir) body.sandboxDir = req.sandboxDir;
  if (req.inputs?.length) body.inputs = req.inputs.map((i) => ({ path: i.path, digest: Buffer.from(i.digest).toString("base64") }));
  return Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
}

const RESPONSE_KEYS = new Set(["exitCode", "output", "requestId", "wasCancelled"]);

export class BazelWorkerProcess {
  readonly child: ChildProcess;
  readonly responses: Response[] = [];
  /** Description of the first stdout bytes that were not a well-formed WorkResponse. */
  garbage: string | undefined;
  stdoutBytes = 0;
  stderr = "";
  readonly exited: Promise<Exit>;
  private readonly frames = new FrameDecoder();
  private readonly json = new JsonValueSplitter();
  private waiters: (() => void)[] = [];
  private readonly watchdog: NodeJS.Timeout;
  exit: Exit | undefined;

  constructor(readonly options: WorkerOptions) {
    const argv = [CLI, "--tool", options.tool ?? "probe", "--persistent_worker", `--protocol=${options.protocol}`, ...(options.args ?? [])];
    this.child = spawn(process.execPath, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? { ...process.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.set(this.child, options.shared === true);
    const pid = this.child.pid;
    this.watchdog = setTimeout(() => {
      if (pid !== undefined && this.exit === undefined) {
        this.stderr += "\n[test watchdog: SIGKILL]\n";
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }, options.watchdogMs ?? 60_000);
    this.child.stdout!.on("data", (c: Buffer) => this.onStdout(c));
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (c: string) => {
      // Keep the head and tail only: flood tests print megabytes.
      this.stderr = this.stderr.length > 2_000_000 ? this.stderr.slice(0, 1_000_000) + c.slice(-1000) : this.stderr + c;
    });
    this.child.stdin!.on("error", () => undefined); // EPIPE after the worker exits is expected
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        clearTimeout(this.watchdog);
        live.delete(this.child);
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(req: Request): void {
    this.child.stdin!.write(encodeRequest(this.options.protocol, req));
  }

  sendRaw(bytes: Uint8Array): void {
    this.child.stdin!.write(bytes);
  }

  closeStdin(): void {
    this.child.stdin!.end();
  }

  /** Resolves once `n` responses have arrived; rejects (with stderr) if the worker exits or time runs out. */
  async waitForResponses(n: number, timeoutMs = 30_000): Promise<Response[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n) {
      if (this.exit !== undefined) {
        throw new Error(`worker exited (${JSON.stringify(this.exit)}) after ${this.responses.length}/${n} responses; stderr:\n${this.stderr.slice(-3000)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${n} responses (got ${this.responses.length}); stderr:\n${this.stderr.slice(-3000)}`);
      }
      await this.nextEvent(Math.max(1, deadline - Date.now()));
    }
    return this.responses.slice(0, n);
  }

  /** Resolves with the exit; rejects if it does not come within `timeoutMs`. */
  async waitForExit(timeoutMs = 30_000): Promise<Exit & { ms: number }> {
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.exited,
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (exit === undefined) throw new Error(`worker did not exit within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-3000)}`);
    return { ...exit, ms: Date.now() - start };
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // gone
    }
  }

  /** Resolves at the next stdout chunk or exit, or after `ms`. */
  activity(ms: number): Promise<void> {
    return this.nextEvent(ms);
  }

  private nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private onStdout(chunk: Buffer): void {
    this.stdoutBytes += chunk.length;
    if (this.garbage !== undefined) return;
    try {
      if (this.options.protocol === "proto") {
        for (const frame of this.frames.push(chunk)) {
          const msg = fromBinary(WorkResponseSchema, frame.body);
          this.responses.push({ exitCode: msg.exitCode, output: msg.output, requestId: msg.requestId, wasCancelled: msg.wasCancelled });
        }
      } else {
        for (const value of this.json.push(chunk)) {
          const obj = JSON.parse(value.text) as Record<string, unknown>;
          for (const k of Object.keys(obj)) if (!RESPONSE_KEYS.has(k)) throw new Error(`unknown response key ${k}`);
          if (typeof obj.exitCode !== "number" || typeof obj.output !== "string" || typeof obj.requestId !== "number") {
            throw new Error(`response without exitCode/output/requestId: ${value.text.slice(0, 200)}`);
          }
          this.responses.push({
            exitCode: obj.exitCode,
            output: obj.output,
            requestId: obj.requestId,
            wasCancelled: obj.wasCancelled === true,
          });
        }
      }
    } catch (err) {
      this.garbage = `${(err as Error).message}; chunk starts ${JSON.stringify(chunk.subarray(0, 80).toString("latin1"))}`;
    }
    this.notify();
  }

  /** After exit: undefined when stdout ended on a response boundary, else what was left over. */
  unfinishedResponse(): string | undefined {
    try {
      if (this.options.protocol === "proto") this.frames.end();
      else this.json.end();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

export function startWorker(options: WorkerOptions): BazelWorkerProcess {
  return new BazelWorkerProcess(options);
}

export const MODES: { name: string; protocol: Protocol; multiplex: boolean }[] = [
  { name: "proto singleplex", protocol: "proto", multiplex: false },
  { name: "proto multiplex", protocol: "proto", multiplex: true },
  { name: "json singleplex", protocol: "json", multiplex: false },
  { name: "json multiplex", protocol: "json", multiplex: true },
];

/** Pids of the direct children of `pid` (Linux /proc), for killing a tool process from outside. */
export async function childPids(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // Field 4 is the ppid; the command name (field 2) may hold spaces, so parse after its ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // raced with an exit
    }
  }
  return out;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
