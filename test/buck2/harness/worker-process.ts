import { existsSync, readFileSync, rmSync } from "node:fs";
import { status, type Client, type ClientDuplexStream } from "@grpc/grpc-js";
import type { ExecuteCommand, ExecuteCommandStream, ExecuteResponse, ExecuteResponseStream } from "../../../src/gen/buck2/worker_pb.js";
import { connectToWorker } from "./connect.js";
import { callExecute, isServiceError, openExecuteStream } from "./grpc-client.js";
import { descendants, isAlive, killQuietly, processGroupMembers } from "./process-tree.js";
import { exitCodeOf, spawnWorker, type ExitInfo, type SpawnedWorker } from "./spawn-worker.js";
import type { WorkerDir } from "./worker-dir.js";
import { create } from "@bufbuild/protobuf";
import { ExecuteCommandStreamSchema } from "../../../src/gen/buck2/worker_pb.js";

/** `WorkerInfo(exe, env, concurrency, streaming)` as the harness needs it (docs/protocol/buck2-worker.md §12.1). */
export interface WorkerInfoSpec {
  readonly exe: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Per-worker FIFO limit; undefined = Buck2's `None`, no per-worker limit (docs/protocol/buck2-worker.md §8). */
  readonly concurrency?: number;
  readonly streaming?: boolean;
}

/** Why a worker never became usable (docs/protocol/buck2-worker.md §5.3). Cached for the whole command: no respawn. */
export type InitFailure =
  | { readonly kind: "early-exit"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly kind: "spawn-failed"; readonly message: string }
  | { readonly kind: "connect-timeout"; readonly message: string }
  | { readonly kind: "no-stream-headers"; readonly message: string };

/** The result of sending one command. */
export type CallOutcome =
  | { readonly kind: "response"; readonly response: ExecuteResponse }
  /** A `WorkerFailure` (docs/protocol/buck2-worker.md §7.2): gRPC error, worker death, closed stream. */
  | { readonly kind: "worker-failure"; readonly message: string }
  /** Something real Buck2 would crash on (a stream answer with no `response`). */
  | { readonly kind: "harness-violation"; readonly message: string };

/** Delays between the 6 attempts of a unary call that got UNAVAILABLE (docs/protocol/buck2-worker.md §6.3). */
export const UNAVAILABLE_RETRY_DELAYS_MS = [100, 500, 500, 500, 500] as const;

export interface WorkerEndReport {
  readonly workerId: number;
  readonly pid: number | undefined;
  readonly exit: ExitInfo | undefined;
  /** The worker had already exited before the end of the command. */
  readonly exitedBeforeEnd: boolean;
  /** SIGTERM was not enough within the shutdown timeout (a test failure). */
  readonly neededSigkill: boolean;
  /** Processes of the worker still alive after it exited (a test failure); they were killed. */
  readonly survivors: number[];
  /** The worker left its socket file behind (Buck2 deletes it; informational). */
  readonly socketLeftBehind: boolean;
  readonly shutdownMs: number;
}

export interface WorkerProcessOptions {
  readonly id: number;
  readonly info: WorkerInfoSpec;
  readonly dir: WorkerDir;
  readonly projectRoot: string;
  readonly connectDeadlineMs: number;
  /** How long to wait for ExecuteStream's response headers; Buck2 waits forever. */
  readonly streamHeadersTimeoutMs?: number;
  readonly inheritedEnv?: NodeJS.ProcessEnv;
  /** Records behaviour real Buck2 would crash or hang on; the command then fails. */
  readonly violation: (message: string) => void;
}

/** One spawned worker and its connection: what Buck2 keeps per WorkerId for one command. */
export class WorkerProcess {
  readonly id: number;
  readonly dir: WorkerDir;
  readonly info: WorkerInfoSpec;
  private readonly spawnedWorker: SpawnedWorker;
  private client: Client | undefined;
  private stream: ClientDuplexStream<ExecuteCommandStream, ExecuteResponseStream> | undefined;
  private streamClosed = false;
  private readonly pending = new Map<bigint, (o: CallOutcome) => void>();
  private nextStreamId = 0n;
  private exitInfo: ExitInfo | undefined;
  private inFlight = 0;
  /** Resolves with undefined once the worker is connected (and, streaming, has sent headers). */
  readonly ready: Promise<InitFailure | undefined>;

  // Observations tests assert on.
  pid: number | undefined;
  connectAttempts: number[] = [];
  maxInFlight = 0;
  readonly sentStreamIds: bigint[] = [];
  readonly answeredStreamIds: bigint[] = [];
  readonly grpcStatuses: number[] = [];
  /** Attempts per unary command, in completion order. */
  readonly unaryAttempts: number[] = [];
  /** Milliseconds (since spawn) the stream's response headers arrived, and the first command was sent. */
  headersAtMs: number | undefined;
  firstSendAtMs: number | undefined;
  private readonly startedAt = Date.now();

  constructor(private readonly options: WorkerProcessOptions) {
    this.id = options.id;
    this.dir = options.dir;
    this.info = options.info;
    this.spawnedWorker = spawnWorker({
      exe: options.info.exe,
      ...(options.info.env ? { env: options.info.env } : {}),
      projectRoot: options.projectRoot,
      dir: options.dir,
      ...(options.inheritedEnv ? { inheritedEnv: options.inheritedEnv } : {}),
    });
    void this.spawnedWorker.exited.then((e) => {
      this.exitInfo = e;
    });
    this.ready = this.initialize();
  }

  private get headersTimeoutMs(): number {
    return this.options.streamHeadersTimeoutMs ?? this.options.connectDeadlineMs;
  }

  get exited(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get logs(): { stdout: string; stderr: string } {
    return { stdout: readLog(this.dir.stdoutPath), stderr: readLog(this.dir.stderrPath) };
  }

  private async initialize(): Promise<InitFailure | undefined> {
    try {
      this.pid = await this.spawnedWorker.spawned;
    } catch (err) {
      return { kind: "spawn-failed", message: `Error initializing worker: Worker failed to spawn: ${(err as Error).message}` };
    }
    const outcome = await connectToWorker({
      socketPath: this.dir.socketPath,
      exited: this.spawnedWorker.exited,
      deadlineMs: this.options.connectDeadlineMs,
    });
    this.connectAttempts = outcome.attempts;
    if (outcome.kind === "early-exit") {
      const { stdout, stderr } = this.logs;
      return { kind: "early-exit", exitCode: exitCodeOf(outcome.exit), stdout, stderr };
    }
    if (outcome.kind === "timeout") return { kind: "connect-timeout", message: outcome.message };
    this.client = outcome.client;
    if (this.info.streaming) return this.openStream(outcome.client);
    return undefined;
  }

  /** Buck2 opens the stream at once and waits for its response headers (docs/protocol/buck2-worker.md §5.4). */
  private async openStream(client: Client): Promise<InitFailure | undefined> {
    const stream = openExecuteStream(client);
    this.stream = stream;
    const closeAll = (): void => {
      this.streamClosed = true;
      for (const [, resolve] of this.pending) resolve({ kind: "worker-failure", message: "Stream closed while waiting for response" });
      this.pending.clear();
    };
    stream.on("data", (message: ExecuteResponseStream) => {
      const resolve = this.pending.get(message.id);
      if (!message.response) {
        const text = `ExecuteResponseStream id ${message.id} has no response: real Buck2 panics on this (docs/protocol/buck2-worker.md §6.4)`;
        this.options.violation(text);
        if (resolve) {
          this.pending.delete(message.id);
          resolve({ kind: "harness-violation", message: text });
        }
        return;
      }
      if (!resolve) {
        this.options.violation(`unknown stream id ${message.id}: Buck2 logs and drops it (docs/protocol/buck2-worker.md §6.4)`);
        return;
      }
      this.pending.delete(message.id);
      this.answeredStreamIds.push(message.id);
      resolve({ kind: "response", response: message.response });
    });
    stream.on("error", (err) => {
      if (isServiceError(err)) this.grpcStatuses.push(err.code);
      closeAll();
    });
    stream.on("end", closeAll);
    const headers = await Promise.race([
      new Promise<"headers">((resolve) => stream.once("metadata", () => resolve("headers"))),
      this.spawnedWorker.exited.then(() => "exited" as const),
      new Promise<"closed">((resolve) => stream.once("close", () => resolve("closed"))),
      delay(this.headersTimeoutMs).then(() => "timeout" as const),
    ]);
    if (headers === "headers") {
      this.headersAtMs = Date.now() - this.startedAt;
      return undefined;
    }
    if (headers === "exited") {
      const { stdout, stderr } = this.logs;
      return { kind: "early-exit", exitCode: exitCodeOf(this.exitInfo!), stdout, stderr };
    }
    const message = `ExecuteStream sent no response headers within ${this.headersTimeoutMs} ms: real Buck2 waits forever in initialize_worker (docs/protocol/buck2-worker.md §5.4)`;
    this.options.violation(message);
    return { kind: "no-stream-headers", message };
  }

  /** Sends one command: unary with the UNAVAILABLE retry policy, or on the stream; races the worker's exit. */
  async execute(command: ExecuteCommand): Promise<CallOutcome> {
    if (this.exitInfo) return { kind: "worker-failure", message: this.exitedMessage() };
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.firstSendAtMs === undefined) this.firstSendAtMs = Date.now() - this.startedAt;
    try {
      const call = this.stream ? this.sendOnStream(command) : this.sendUnary(command);
      const died = this.spawnedWorker.exited.then((): CallOutcome => ({ kind: "worker-failure", message: this.exitedMessage() }));
      return await Promise.race([call, died]);
    } finally {
      this.inFlight--;
    }
  }

  private exitedMessage(): string {
    return `Worker exited while running command, see worker logs:\n${this.dir.stdoutPath}\n${this.dir.stderrPath}`;
  }

  private async sendUnary(command: ExecuteCommand): Promise<CallOutcome> {
    const client = this.client!;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await callExecute(client, command);
        this.unaryAttempts.push(attempt);
        return { kind: "response", response };
      } catch (err) {
        const code = isServiceError(err) ? err.code : status.UNKNOWN;
        const details = isServiceError(err) ? err.details : String(err);
        this.grpcStatuses.push(code);
        const delayMs = UNAVAILABLE_RETRY_DELAYS_MS[attempt - 1];
        if (code !== status.UNAVAILABLE || delayMs === undefined) {
          this.unaryAttempts.push(attempt);
          return {
            kind: "worker-failure",
            message:
              `Error sending ExecuteCommand to worker: status: ${status[code] ?? code}, message: ${JSON.stringify(details)}, ` +
              `see worker logs:\n${this.dir.stdoutPath}\n${this.dir.stderrPath}\n`,
          };
        }
        await delay(delayMs);
      }
    }
  }

  private sendOnStream(command: ExecuteCommand): Promise<CallOutcome> {
    if (this.streamClosed) return Promise.resolve({ kind: "worker-failure", message: "Stream closed while waiting for response" });
    const id = this.nextStreamId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.sentStreamIds.push(id);
      this.stream!.write(create(ExecuteCommandStreamSchema, { request: command, id }));
    });
  }

  /**
   * The end of the command (docs/protocol/buck2-worker.md §10, §15 step 8): SIGTERM the pid, poll every 100 ms, SIGKILL
   * after `timeoutMs`, delete the socket, and look for processes the worker left behind.
   */
  async terminate(timeoutMs: number): Promise<WorkerEndReport> {
    const started = Date.now();
    const pid = this.pid;
    const exitedBeforeEnd = this.exitInfo !== undefined;
    let neededSigkill = false;
    const tree = pid !== undefined ? descendants(pid) : [];
    if (pid !== undefined && !this.exitInfo) {
      killQuietly(pid, "SIGTERM");
      while (!this.exitInfo && Date.now() - started < timeoutMs) await delay(100);
      if (!this.exitInfo) {
        neededSigkill = true;
        killQuietly(pid, "SIGKILL");
        await this.spawnedWorker.exited;
      }
    }
    this.stream?.cancel();
    this.client?.close();
    const socketLeftBehind = existsSync(this.dir.socketPath);
    rmSync(this.dir.socketPath, { force: true });
    const survivors = new Set<number>();
    if (pid !== undefined) {
      for (const p of processGroupMembers(pid)) survivors.add(p);
      for (const p of tree) if (isAlive(p)) survivors.add(p);
    }
    for (const p of survivors) killQuietly(p, "SIGKILL");
    return {
      workerId: this.id,
      pid,
      exit: this.exitInfo,
      exitedBeforeEnd,
      neededSigkill,
      survivors: [...survivors],
      socketLeftBehind,
      shutdownMs: Date.now() - started,
    };
  }

  /** Watchdog: kill the worker and everything in its process group, now. */
  kill(): void {
    if (this.pid === undefined) return;
    for (const p of [...descendants(this.pid), ...processGroupMembers(this.pid)]) killQuietly(p, "SIGKILL");
    killQuietly(this.pid, "SIGKILL");
    this.client?.close();
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
