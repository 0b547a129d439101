import { spawn, type ChildProcess } from "node:child_process";
import { fromBinary } from "@bufbuild/protobuf";
import { WorkResponseSchema } from "../../src/gen/bazel/worker_protocol_pb.js";
import { captureStderrTail, lastLine, SkipError, stopChild, type Target, type Variant } from "./target.js";
import { bazelJsonRequest, bazelProtoRequest, FrameSplitter, LineSplitter, scanVarintField } from "./wire.js";

export interface PipeWorkerSpec {
  label: string;
  command: string;
  args: string[];
  format: "proto" | "json";
  /** Multiplex: request ids 1..inFlight, one per slot; singleplex: id 0 and answers in order. */
  multiplex: boolean;
  /** Highest number of slots the scenario will use. */
  maxInFlight: number;
  env?: NodeJS.ProcessEnv;
  /** Arguments of each request (no-op by default). */
  requestArgs?: string[];
}

type Waiter = { resolve: () => void; reject: (err: Error) => void };

/**
 * Drives a Bazel-style worker over stdin/stdout — the bridge, the plain-Node floor and the
 * `@bazel/worker` peer all get exactly this client, with requests encoded once up front.
 */
class PipeTarget implements Target {
  private readonly requests: Buffer[];
  private readonly fifo: Waiter[] = [];
  private readonly byId = new Map<number, Waiter>();
  private dead: Error | undefined;
  readonly pid: number;

  constructor(
    private readonly spec: PipeWorkerSpec,
    private readonly child: ChildProcess,
    readonly stderrTail: () => string,
  ) {
    this.pid = child.pid!;
    const ids = spec.multiplex ? Array.from({ length: spec.maxInFlight }, (_, i) => i + 1) : [0];
    const encode = spec.format === "proto" ? bazelProtoRequest : bazelJsonRequest;
    this.requests = ids.map((id) => encode(id, spec.requestArgs));
    if (spec.format === "proto") {
      const frames = new FrameSplitter();
      child.stdout!.on("data", (chunk: Buffer) => frames.push(chunk, (body) => this.onProto(body)));
    } else {
      const lines = new LineSplitter();
      child.stdout!.on("data", (chunk: Buffer) => lines.push(chunk, (line) => this.onJson(line)));
    }
    child.stdin!.on("error", () => {}); // EPIPE when the worker died: reported through 'exit'
    child.on("exit", (code, signal) => {
      this.failAll(new Error(`${spec.label} exited (${signal ?? code}) — ${lastLine(this.stderrTail()) || "no stderr"}`));
    });
  }

  request(slot: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const bytes = this.spec.multiplex ? this.requests[slot]! : this.requests[0]!;
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.spec.multiplex) this.byId.set(slot + 1, waiter);
      else this.fifo.push(waiter);
      this.child.stdin!.write(bytes);
    });
  }

  private onProto(body: Buffer): void {
    const exitCode = scanVarintField(body, 1);
    const id = scanVarintField(body, 3);
    if (exitCode !== 0) {
      const output = safeOutput(body);
      this.settle(id, new Error(`exit code ${exitCode | 0}: ${output}`));
      return;
    }
    this.settle(id, undefined);
  }

  private onJson(line: string): void {
    let msg: { exitCode?: number; requestId?: number; output?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.failAll(new Error(`unparseable JSON response: ${line.slice(0, 200)}`));
      return;
    }
    // The JSON floor echoes requests, which carry no exitCode.
    const exitCode = msg.exitCode ?? 0;
    this.settle(msg.requestId ?? 0, exitCode === 0 ? undefined : new Error(`exit code ${exitCode}: ${msg.output ?? ""}`));
  }

  private settle(id: number, err: Error | undefined): void {
    let waiter: Waiter | undefined;
    if (this.spec.multiplex) {
      waiter = this.byId.get(id);
      this.byId.delete(id);
    } else waiter = this.fifo.shift();
    if (!waiter) {
      this.failAll(new Error(`response for request id ${id} that is not outstanding`));
      return;
    }
    if (err) waiter.reject(err);
    else waiter.resolve();
  }

  private failAll(err: Error): void {
    this.dead ??= err;
    for (const w of this.fifo.splice(0)) w.reject(err);
    for (const w of this.byId.values()) w.reject(err);
    this.byId.clear();
  }

  /** EOF first, as Bazel does; kill only if the worker does not leave on its own. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => void stopChild(this.child), 3000);
    await exited;
    clearTimeout(timer);
  }
}

function safeOutput(body: Buffer): string {
  try {
    return fromBinary(WorkResponseSchema, body).output.slice(0, 500);
  } catch {
    return "(undecodable response)";
  }
}

/** Starts the worker and waits for its first answer; a worker that cannot answer is skipped with its reason. */
export function pipeWorker(spec: PipeWorkerSpec): Variant {
  return {
    label: spec.label,
    async start() {
      const child = spawn(spec.command, spec.args, { stdio: ["pipe", "pipe", "pipe"], env: spec.env ?? process.env });
      const tail = captureStderrTail(child);
      const spawned = await new Promise<Error | undefined>((r) => {
        child.once("spawn", () => r(undefined));
        child.once("error", (e) => r(e));
      });
      if (spawned) throw new SkipError(`cannot start ${spec.command}: ${spawned.message}`);
      const target = new PipeTarget(spec, child, tail);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          target.request(0),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("no answer to a first request within 20 s")), 20_000);
          }),
        ]);
      } catch (err) {
        // A worker that could not start (exited: front door or host not built) is skipped; one that
        // is running but answered wrongly is broken, and that fails the variant.
        const exited = child.exitCode !== null || child.signalCode !== null;
        await stopChild(child);
        if (!exited) throw new Error(`first request failed: ${(err as Error).message}`);
        throw new SkipError(lastLine(tail()) || (err as Error).message);
      } finally {
        clearTimeout(timer);
      }
      return target;
    },
  };
}
