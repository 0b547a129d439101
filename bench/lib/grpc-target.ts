import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { captureStderrTail, lastLine, SkipError, stopChild, type Target, type Variant } from "./target.js";
import { buck2ExecuteCommand, buck2StreamCommand, scanVarintField } from "./wire.js";

export interface GrpcWorkerSpec {
  label: string;
  command: string;
  args: string[];
  /** `Worker.Execute` unary calls, or one `WorkerStreaming.ExecuteStream` carrying every request. */
  mode: "execute" | "stream";
  requestArgs?: string[];
}

const identity = (b: Buffer): Buffer => b;
const CHANNEL_OPTIONS: grpc.ClientOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
  // Buck2's tonic channel sends this authority (docs/protocol/buck2-worker.md §5.1).
  "grpc.default_authority": "[::]:50051",
};

type Waiter = { resolve: () => void; reject: (err: Error) => void };

/** Drives a Buck2-style worker the way Buck2 does (docs/protocol/buck2-worker.md §15): one channel, unary calls or one stream. */
class GrpcTarget implements Target {
  readonly pid: number;
  private readonly command: Buffer;
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private dead: Error | undefined;

  constructor(
    private readonly spec: GrpcWorkerSpec,
    private readonly child: ChildProcess,
    private readonly client: grpc.Client,
    private readonly socketDir: string,
    private readonly stderrTail: () => string,
  ) {
    this.pid = child.pid!;
    this.command = buck2ExecuteCommand(spec.requestArgs);
    child.on("exit", (code, signal) => this.failAll(new Error(`${spec.label} exited (${signal ?? code}) — ${lastLine(stderrTail()) || "no stderr"}`)));
  }

  /** Streaming workers must send headers at once; Buck2 waits for them before its first request (docs/protocol/buck2-worker.md §5.4). */
  async openStream(): Promise<void> {
    const stream = this.client.makeBidiStreamRequest<Buffer, Buffer>("/worker.WorkerStreaming/ExecuteStream", identity, identity);
    this.stream = stream;
    stream.on("data", (msg: Buffer) => this.onStreamResponse(msg));
    stream.on("error", (err: Error) => this.failAll(err));
    stream.on("end", () => this.failAll(new Error("Stream closed while waiting for response")));
    await new Promise<void>((resolve, reject) => {
      stream.once("metadata", () => resolve());
      stream.once("error", reject);
    });
  }

  request(): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.spec.mode === "stream") {
      const id = this.nextId++;
      return new Promise<void>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        this.stream!.write(buck2StreamCommand(id, this.spec.requestArgs));
      });
    }
    return new Promise<void>((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>("/worker.Worker/Execute", identity, identity, this.command, (err, response) => {
        if (err) return reject(new Error(`Execute failed: ${err.message}`));
        const exitCode = scanVarintField(response!, 1);
        if (exitCode !== 0) return reject(new Error(`exit code ${exitCode | 0}`));
        resolve();
      });
    });
  }

  private onStreamResponse(msg: Buffer): void {
    const id = scanVarintField(msg, 2);
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    if (!waiter) return this.failAll(new Error(`ExecuteStream answered unknown id ${id}`));
    // Field 1 (response) must be present: real Buck2 panics without it (docs/protocol/buck2-worker.md §6.4).
    if (msg[0] !== 0x0a) return waiter.reject(new Error(`ExecuteStream response ${id} has no response field`));
    waiter.resolve();
  }

  private failAll(err: Error): void {
    this.dead ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Buck2 ends a worker with SIGTERM (docs/protocol/buck2-worker.md §10), then removes the socket. */
  async close(): Promise<void> {
    this.stream?.removeAllListeners("end");
    this.stream?.removeAllListeners("error");
    this.stream?.on("error", () => {});
    this.stream?.cancel();
    this.client.close();
    await stopChild(this.child, 10_000);
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}

async function waitForSocket(path: string, child: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.signalCode ?? child.exitCode}) before listening`);
    if (Date.now() > until) throw new Error(`no socket at ${path} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function grpcWorker(spec: GrpcWorkerSpec): Variant {
  return {
    label: spec.label,
    async start() {
      const socketDir = mkdtempSync(join(tmpdir(), "wb-bench-"));
      const socket = join(socketDir, "socket");
      const child = spawn(spec.command, spec.args, {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, WORKER_SOCKET: socket },
      });
      const tail = captureStderrTail(child);
      let client: grpc.Client | undefined;
      try {
        await waitForSocket(socket, child, 20_000);
        client = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
        await new Promise<void>((resolve, reject) =>
          client!.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
        );
        const target = new GrpcTarget(spec, child, client, socketDir, tail);
        if (spec.mode === "stream") await target.openStream();
        await target.request();
        return target;
      } catch (err) {
        // Skipped only when the worker is gone (not built yet); a live worker that answers wrongly fails.
        const exited = child.exitCode !== null || child.signalCode !== null;
        client?.close();
        await stopChild(child);
        rmSync(socketDir, { recursive: true, force: true });
        if (!exited) throw new Error(`first request failed: ${(err as Error).message}`);
        throw new SkipError(lastLine(tail()) || (err as Error).message);
      }
    },
  };
}
