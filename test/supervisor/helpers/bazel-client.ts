// A minimal "fake Bazel" for supervisor tests: spawns the built bridge with --persistent_worker,
// speaks length-delimited WorkRequest/WorkResponse protos, and kills everything it started (by
// pid) from a watchdog so a hung worker fails the test instead of hanging it.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WorkRequestSchema, WorkResponseSchema } from "../../../src/gen/bazel/worker_protocol_pb.js";
import { FrameDecoder, frameMessage } from "../../../src/protocol/bazel/framing.js";
import { requireBuiltCli } from "../../support/paths.js";

export interface Response {
  exitCode: number;
  output: string;
  requestId: number;
  wasCancelled: boolean;
}

export interface BridgeOptions {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Node flags for the bridge (tool processes inherit them). */
  nodeArgs?: string[];
  /** Kill the bridge (and fail pending reads) after this long. */
  watchdogMs?: number;
}

const live = new Set<BazelBridge>();

/** Kills every bridge a test left running (call from afterEach). */
export function killAllBridges(): void {
  for (const b of live) b.killTree();
}

export class BazelBridge {
  readonly child: ChildProcessWithoutNullStreams;
  readonly decoder = new FrameDecoder();
  private readonly responses: Response[] = [];
  private readonly waiters: { match: (r: Response) => boolean; resolve: (r: Response) => void; reject: (e: Error) => void }[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchdog: NodeJS.Timeout;
  rawStdout = Buffer.alloc(0);

  constructor(options: BridgeOptions) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), requireBuiltCli(), "--persistent_worker", ...options.args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    live.add(this);
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.rawStdout = Buffer.concat([this.rawStdout, chunk]);
      for (const frame of this.decoder.push(chunk)) {
        const msg = fromBinary(WorkResponseSchema, frame.body);
        this.deliver({ exitCode: msg.exitCode, output: msg.output, requestId: msg.requestId, wasCancelled: msg.wasCancelled });
      }
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (t: string) => (this.stderr += t));
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        live.delete(this);
        clearTimeout(this.watchdog);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`bridge exited (${code ?? signal}) before answering; stderr:\n${this.stderr}`));
        resolve({ code, signal });
      });
    });
    this.watchdog = setTimeout(() => this.killTree(), options.watchdogMs ?? 45_000);
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(requestId: number, args: string[], extra: { cancel?: boolean; inputs?: { path: string; digest: Uint8Array }[] } = {}): void {
    const msg = create(WorkRequestSchema, { arguments: args, requestId, cancel: extra.cancel ?? false, inputs: extra.inputs ?? [] });
    this.child.stdin.write(frameMessage(toBinary(WorkRequestSchema, msg)));
  }

  cancel(requestId: number): void {
    this.send(requestId, [], { cancel: true });
  }

  /** Sends a request and waits for the response with its id. */
  async request(requestId: number, args: string[]): Promise<Response> {
    const answer = this.response(requestId);
    this.send(requestId, args);
    return answer;
  }

  response(requestId: number): Promise<Response> {
    const match = (r: Response): boolean => r.requestId === requestId;
    const i = this.responses.findIndex(match);
    if (i >= 0) return Promise.resolve(this.responses.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  /** Closes stdin (Bazel's normal shutdown) and waits for the bridge to exit. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin.end();
    return this.exited;
  }

  /** The bridge and its tool processes, by pid (watchdog and test cleanup). */
  killTree(): void {
    for (const pid of childPids(this.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.kill();
  }

  /** Only the bridge itself. */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private deliver(r: Response): void {
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(r);
    else this.responses.push(r);
  }
}

/** Pid of the tool process that answered a probe `--pid` request. */
export function pidOf(r: Response): number {
  const m = /pid=(\d+)/.exec(r.output);
  if (!m) throw new Error(`no pid= in output: ${JSON.stringify(r.output)}`);
  return Number(m[1]);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until it holds or the deadline passes; returns its last value. */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** Pids whose parent is `pid` (Linux /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 is the ppid; the command name (field 2) may contain spaces, so split after ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

export const FIXTURE_TOOL = fileURLToPath(new URL("../fixtures/fixture-tool.mjs", import.meta.url));
