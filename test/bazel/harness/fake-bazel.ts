import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWorkRequest, encodeWorkRequestJson, frame, ResponseStream, type WorkRequest, type WorkResponse } from "../../support/bazel-client/index.js";
import { requireBuiltCli } from "../../support/paths.js";

/**
 * A "fake Bazel" that drives a worker through stdin/stdout exactly as Bazel does
 * (docs/protocol/bazel-worker.md §12): spawn rules, request encodings per Bazel version, and a response
 * reader as strict as Bazel's. Every protocol violation is recorded; tests assert there are none.
 * The wire work is the tests' independent client (test/support/bazel-client), never the bridge's code.
 */
export type Profile =
  | "bazel-4.2.3-proto"
  | "bazel-4.2.3-json"
  | "bazel-5+-json"
  | "bazel-6+-proto"
  | "bazel-6+-json"
  | "buildbuddy-json"
  | "buildfarm-proto";

export const PROFILES: readonly Profile[] = [
  "bazel-4.2.3-proto",
  "bazel-4.2.3-json",
  "bazel-5+-json",
  "bazel-6+-proto",
  "bazel-6+-json",
  "buildbuddy-json",
  "buildfarm-proto",
];

export function isJson(profile: Profile): boolean {
  return profile.endsWith("json");
}

export type Request = WorkRequest;

/** `wasCancelled` is only visible in proto mode; Bazel's JSON reader skips the key. */
export type Response = WorkResponse;

/** Encodes one request as the profile's Bazel version would put it on the worker's stdin. */
export function encodeRequest(req: Request, profile: Profile): Buffer {
  const supportsVerbosity = !profile.startsWith("bazel-4.2.3") && profile !== "buildbuddy-json" && profile !== "buildfarm-proto";
  const supportsSandbox = profile.startsWith("bazel-6+");
  if ((req.verbosity ?? 0) !== 0 && !supportsVerbosity) throw new Error(`${profile} has no verbosity field`);
  if ((req.sandboxDir ?? "") !== "" && !supportsSandbox) throw new Error(`${profile} has no sandbox_dir field`);
  if (!isJson(profile)) return frame(encodeWorkRequest(req));
  if (profile === "buildbuddy-json") return encodeWorkRequestJson(req, "protojson-all");
  return encodeWorkRequestJson(req, profile === "bazel-4.2.3-json" ? "bazel-4.2.3" : "bazel");
}

interface Waiter {
  resolve(r: Response): void;
  reject(err: Error): void;
}

export interface StartOptions {
  profile: Profile;
  /** Worker startup args: everything before --persistent_worker (the tool selection included). */
  startupArgs: string[];
  /** --worker_extra_flag values: after --persistent_worker. */
  extraFlags?: string[];
  /** The worker's env is exactly this plus TMPDIR: no PATH, no HOME (§3.4). */
  env?: Record<string, string>;
  execroot?: string;
  multiplex?: boolean;
  /** The bridge's entry script; dist/cli.js by default (the bundle tests pass dist/worker-bridge.mjs). */
  cli?: string;
}

/** Every worker any harness started, so a test's afterEach can kill leftovers by PID. */
const live = new Set<ChildProcess>();
/** Temporary directories the harness made (execroots, logs): removed with the workers. */
const madeDirs = new Set<string>();

/** Kills every worker still running and removes the directories the harness made for them. */
export function killAllWorkers(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
  madeDirs.clear();
}

function madeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

export class FakeBazel {
  readonly violations: string[] = [];
  readonly child: ChildProcess;
  readonly execroot: string;
  readonly logPath: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly rawStdout: Buffer[] = [];
  private rawBytes = 0;
  private readonly reader: ResponseStream;
  private readonly waitersById = new Map<number, Waiter[]>();
  private readonly singleplexWaiters: Waiter[] = [];
  private readonly cancelled = new Set<number>();
  readonly received: Response[] = [];

  constructor(readonly options: StartOptions) {
    this.execroot = options.execroot ?? madeTempDir("fake-bazel-execroot-");
    this.logPath = join(madeTempDir("fake-bazel-log-"), "worker.log");
    const log = openSync(this.logPath, "w");
    const argv = [options.cli ?? requireBuiltCli(), ...options.startupArgs, "--persistent_worker", ...(options.extraFlags ?? [])];
    this.child = spawn(process.execPath, argv, {
      cwd: this.execroot,
      env: { ...(options.env ?? {}), TMPDIR: tmpdir() },
      stdio: ["pipe", "pipe", log],
    });
    closeSync(log);
    live.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        live.delete(this.child);
        resolve({ code, signal });
      });
      // Real Bazel reports "did not return a WorkResponse"; once stdout is drained, nothing more can come.
      this.child.once("close", (code, signal) => this.failWaiters(`worker exited (code ${code}, signal ${signal}) before answering`));
    });
    // Bazel's own readings: Gson in JSON mode (unknown keys skipped), ProtoWorkerProtocol in proto mode.
    this.reader = new ResponseStream(isJson(options.profile) ? "json" : "proto", "bazel");
    this.child.stdout!.on("data", (chunk: Buffer) => this.onStdout(chunk));
    this.child.stdin!.on("error", () => {
      /* the worker may exit first; that is reported through violations/exit */
    });
  }

  get multiplex(): boolean {
    return this.options.multiplex ?? false;
  }

  /** Writes raw bytes to the worker's stdin (for chunking and malformed-input scenarios). */
  writeRaw(bytes: Uint8Array): void {
    this.child.stdin!.write(bytes);
  }

  encode(req: Request): Buffer {
    return encodeRequest(req, this.options.profile);
  }

  /** Registers interest in the response to `req` without sending it (for custom chunking). */
  expect(req: Request): Promise<Response> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (this.multiplex) {
        const id = req.requestId ?? 0;
        const list = this.waitersById.get(id) ?? [];
        list.push(waiter);
        this.waitersById.set(id, list);
      } else {
        this.singleplexWaiters.push(waiter);
      }
    });
  }

  private failWaiters(why: string): void {
    const err = (): Error => new Error(`Worker process did not return a WorkResponse: ${why}\n${this.diagnostics()}`);
    for (const w of this.singleplexWaiters.splice(0)) w.reject(err());
    for (const list of this.waitersById.values()) for (const w of list.splice(0)) w.reject(err());
  }

  /** Sends a request and resolves with its response (routed by id in multiplex, in order in singleplex). */
  request(req: Request): Promise<Response> {
    const p = this.expect(req);
    this.writeRaw(this.encode(req));
    return p;
  }

  /** Sends a cancel for `id`. Bazel then reads exactly one more response for it (§6). */
  cancel(id: number): void {
    this.cancelled.add(id);
    this.writeRaw(this.encode({ requestId: id, cancel: true }));
  }

  /** The end of a Bazel-managed worker: SIGTERM and stdin closed; fails if it does not exit by the deadline. */
  async stop(deadlineMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const start = Date.now();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      this.child.stdin!.end();
    }
    return this.waitExit(deadlineMs, start);
  }

  /** Closes stdin only (EOF) and waits for the exit. */
  async closeStdin(deadlineMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const start = Date.now();
    this.child.stdin!.end();
    return this.waitExit(deadlineMs, start);
  }

  private async waitExit(deadlineMs: number, start: number) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), deadlineMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.violations.push(`worker did not exit within ${deadlineMs} ms (real Bazel would hang)`);
      this.child.kill("SIGKILL");
      const r = await this.exited;
      return { ...r, ms: Date.now() - start };
    }
    return { ...result, ms: Date.now() - start };
  }

  /** What the worker wrote to its log (stderr). */
  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** Resolves once the worker's log matches `pattern`; rejects if the worker exits or time runs out first. */
  async waitForLog(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log())) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`worker exited before logging ${pattern}\n${this.diagnostics()}`);
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms\n${this.diagnostics()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A report for failed assertions: violations, the first 4096 stdout bytes and the log tail. */
  diagnostics(): string {
    const raw = Buffer.concat(this.rawStdout).subarray(0, 4096);
    return [
      `violations: ${JSON.stringify(this.violations)}`,
      `stdout (first ${raw.length} bytes, non-printable as ?): ${raw.toString("latin1").replace(/[^\x20-\x7e\n]/g, "?")}`,
      `log tail: ${this.log().slice(-4096)}`,
    ].join("\n");
  }

  private onStdout(chunk: Buffer): void {
    if (this.rawBytes < 4096) {
      this.rawStdout.push(chunk);
      this.rawBytes += chunk.length;
    }
    let responses: Response[];
    try {
      responses = this.reader.push(chunk);
    } catch (err) {
      this.violations.push(`Worker process returned an unparseable WorkResponse! ${(err as Error).message}`);
      return;
    }
    for (const r of responses) this.route(r);
  }

  private route(r: Response): void {
    this.received.push(r);
    if (r.wasCancelled && !this.cancelled.has(r.requestId)) {
      this.violations.push(`Received cancel response for ${r.requestId} without having cancelled`);
    }
    if (!this.multiplex) {
      const waiter = this.singleplexWaiters.shift();
      if (!waiter) this.violations.push(`unexpected extra singleplex response ${JSON.stringify(r)}`);
      else waiter.resolve(r);
      return;
    }
    const list = this.waitersById.get(r.requestId);
    const waiter = list?.shift();
    if (!waiter) {
      this.violations.push(`Multiplexer found no semaphore for request id ${r.requestId} (real Bazel would hang)`);
      return;
    }
    if (list!.length === 0) this.waitersById.delete(r.requestId);
    waiter.resolve(r);
  }
}
