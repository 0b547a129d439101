import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { WorkRequestSchema } from "../../../src/gen/bazel/worker_protocol_pb.js";
import { requireBuiltCli } from "../../support/paths.js";
import { GsonStreamReader } from "./gson-reader.js";

/**
 * A "fake Bazel" that drives a worker through stdin/stdout exactly as Bazel does
 * (docs/protocol/bazel-worker.md §12): spawn rules, request encodings per Bazel version, and a response
 * reader as strict as Bazel's. Every protocol violation is recorded; tests assert there are none.
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

export interface Request {
  arguments?: string[];
  inputs?: { path: string; digest: Uint8Array }[];
  requestId?: number;
  cancel?: boolean;
  verbosity?: number;
  sandboxDir?: string;
}

export interface Response {
  exitCode: number;
  output: string;
  requestId: number;
  /** Only visible in proto mode; Bazel's JSON reader skips the key. */
  wasCancelled: boolean;
}

/** Gson's HTML-safe escaping, as protobuf JsonFormat writes strings (§2.2). */
function gsonEscape(json: string): string {
  return json.replace(/[=<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function jsonRequest(req: Request, profile: Profile): string {
  const allFields = profile === "buildbuddy-json";
  const obj: Record<string, unknown> = {};
  if (allFields || (req.arguments?.length ?? 0) > 0) obj.arguments = req.arguments ?? [];
  if (allFields || (req.inputs?.length ?? 0) > 0) {
    obj.inputs = (req.inputs ?? []).map((i) => {
      const o: Record<string, string> = { path: i.path };
      if (allFields || i.digest.length > 0) o.digest = Buffer.from(i.digest).toString("base64");
      return o;
    });
  }
  if (allFields || (req.requestId ?? 0) !== 0) obj.requestId = req.requestId ?? 0;
  if (req.cancel) obj.cancel = true;
  if ((req.verbosity ?? 0) !== 0) obj.verbosity = req.verbosity;
  if ((req.sandboxDir ?? "") !== "") obj.sandboxDir = req.sandboxDir;
  if (allFields) {
    // protojson output is deliberately not byte-stable: BuildBuddy may add spaces.
    return JSON.stringify(obj).replace(/,"/g, ', "').replace(/":/g, '": ') + "\n";
  }
  const text = gsonEscape(JSON.stringify(obj));
  return profile === "bazel-4.2.3-json" ? text : `${text}\n`;
}

/** Encodes one request as the profile's Bazel version would put it on the worker's stdin. */
export function encodeRequest(req: Request, profile: Profile): Buffer {
  const supportsVerbosity = !profile.startsWith("bazel-4.2.3") && profile !== "buildbuddy-json" && profile !== "buildfarm-proto";
  const supportsSandbox = profile.startsWith("bazel-6+");
  if ((req.verbosity ?? 0) !== 0 && !supportsVerbosity) throw new Error(`${profile} has no verbosity field`);
  if ((req.sandboxDir ?? "") !== "" && !supportsSandbox) throw new Error(`${profile} has no sandbox_dir field`);
  if (isJson(profile)) return Buffer.from(jsonRequest(req, profile), "utf8");
  const body = toBinary(
    WorkRequestSchema,
    create(WorkRequestSchema, {
      arguments: req.arguments ?? [],
      inputs: (req.inputs ?? []).map((i) => ({ path: i.path, digest: i.digest })),
      requestId: req.requestId ?? 0,
      cancel: req.cancel ?? false,
      verbosity: req.verbosity ?? 0,
      sandboxDir: req.sandboxDir ?? "",
    }),
  );
  return Buffer.concat([varint(body.length), body]);
}

export function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Bazel's proto response reader: varint-delimited, strict UTF-8 on `output` (readStringRequireUtf8). */
class ProtoResponseReader {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): Response[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Response[] = [];
    for (;;) {
      let len = 0;
      let shift = 0;
      let i = 0;
      for (;;) {
        if (i >= this.buf.length) return out;
        const b = this.buf[i++]!;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
        if (i > 10) throw new Error("varint longer than 10 bytes");
      }
      if (this.buf.length < i + len) return out;
      out.push(decodeResponse(this.buf.subarray(i, i + len)));
      this.buf = this.buf.subarray(i + len);
    }
  }

  get pending(): number {
    return this.buf.length;
  }
}

function readVarint(b: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= b.length) throw new Error("truncated varint in WorkResponse");
    const byte = b[pos++]!;
    v |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) return [v, pos];
    if (shift > 63n) throw new Error("varint too long in WorkResponse");
  }
}

function decodeResponse(b: Buffer): Response {
  const r: Response = { exitCode: 0, output: "", requestId: 0, wasCancelled: false };
  let pos = 0;
  const strict = new TextDecoder("utf-8", { fatal: true });
  while (pos < b.length) {
    let tag: bigint;
    [tag, pos] = readVarint(b, pos);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      let v: bigint;
      [v, pos] = readVarint(b, pos);
      const i32 = Number(BigInt.asIntN(32, v));
      if (field === 1) r.exitCode = i32;
      else if (field === 3) r.requestId = i32;
      else if (field === 4) r.wasCancelled = v !== 0n;
    } else if (wire === 2) {
      let len: bigint;
      [len, pos] = readVarint(b, pos);
      const bytes = b.subarray(pos, pos + Number(len));
      if (bytes.length !== Number(len)) throw new Error("truncated field in WorkResponse");
      pos += Number(len);
      if (field === 2) r.output = strict.decode(bytes);
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error(`bad wire type ${wire} in WorkResponse`);
  }
  return r;
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
}

/** Every worker any harness started, so a test's afterEach can kill leftovers by PID. */
const live = new Set<ChildProcess>();

export function killAllWorkers(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}

export class FakeBazel {
  readonly violations: string[] = [];
  readonly child: ChildProcess;
  readonly execroot: string;
  readonly logPath: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly rawStdout: Buffer[] = [];
  private rawBytes = 0;
  private readonly proto: ProtoResponseReader | undefined;
  private readonly gson: GsonStreamReader | undefined;
  private readonly waitersById = new Map<number, Waiter[]>();
  private readonly singleplexWaiters: Waiter[] = [];
  private readonly cancelled = new Set<number>();
  readonly received: Response[] = [];

  constructor(readonly options: StartOptions) {
    this.execroot = options.execroot ?? mkdtempSync(join(tmpdir(), "fake-bazel-execroot-"));
    this.logPath = join(mkdtempSync(join(tmpdir(), "fake-bazel-log-")), "worker.log");
    const log = openSync(this.logPath, "w");
    const argv = [requireBuiltCli(), ...options.startupArgs, "--persistent_worker", ...(options.extraFlags ?? [])];
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
        // Real Bazel reports "did not return a WorkResponse"; fail waiting requests fast.
        setTimeout(() => this.failWaiters(`worker exited (code ${code}, signal ${signal}) before answering`), 50);
      });
    });
    if (isJson(options.profile)) this.gson = new GsonStreamReader();
    else this.proto = new ProtoResponseReader();
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
      responses = this.proto
        ? this.proto.push(chunk)
        : this.gson!.push(chunk.toString("utf8")).map((r) => ({ ...r, wasCancelled: false }));
    } catch (err) {
      this.violations.push(`Worker process returned an unparseable WorkResponse! ${(err as Error).message}`);
      return;
    }
    for (const r of responses) this.route(r);
  }

  private route(r: Response): void {
    this.received.push(r);
    if (this.proto && r.wasCancelled && !this.cancelled.has(r.requestId)) {
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
