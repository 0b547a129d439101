import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { killPid, registerChild, waitForExit } from "./child-registry.js";
import { createResponseReader, type ExecutorWorkResponse, type ResponseReader, type WorkerWire } from "./work-messages.js";

export type ExecOutcome =
  | { readonly ok: true; readonly response: ExecutorWorkResponse; readonly stderr: string }
  /** `io`: write failed or stdout ended; `decode`: unparseable bytes; `timeout`: the action deadline passed. */
  | { readonly ok: false; readonly kind: "io" | "decode" | "timeout"; readonly message: string; readonly stderr: string };

export interface WorkerProcessOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly wire: WorkerWire;
}

/**
 * One persistent worker process as an executor holds it: stdin/stdout pipes, stderr buffered and
 * reset per request (BuildBuddy shows it only in errors), one request in flight at a time.
 */
export class WorkerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly reader: ResponseReader;
  private readonly responses: ExecutorWorkResponse[] = [];
  private failure: { kind: "io" | "decode"; message: string } | undefined;
  private stderrChunks: Buffer[] = [];
  private wake: (() => void) | undefined;
  private busy = false;
  private exited = false;
  requestsServed = 0;
  /** Set when spawning failed (e.g. the executable is missing from the input root). */
  spawnError: string | undefined;

  constructor(readonly options: WorkerProcessOptions) {
    const [exe, ...args] = options.argv;
    if (exe === undefined) throw new Error("worker argv is empty");
    this.reader = createResponseReader(options.wire);
    this.child = spawn(exe, args, { cwd: options.cwd, env: { ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    registerChild(this.child);
    this.child.stdout.on("data", (chunk: Buffer) => this.onStdout(chunk));
    this.child.stderr.on("data", (chunk: Buffer) => this.stderrChunks.push(chunk));
    this.child.stdin.on("error", (err) => this.fail("io", `failed to write persistent work request: ${err.message}`));
    this.child.once("error", (err) => {
      this.spawnError = `fork/exec ${exe}: ${err.message}`;
      this.exited = true;
      this.fail("io", this.spawnError);
    });
    // "close", not "exit": a response written just before the worker exits must still be read.
    this.child.once("close", (code, signal) => {
      this.exited = true;
      this.fail("io", `failed to read persistent work response: EOF (worker exited with ${signal ?? `code ${code}`})`);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited && this.failure === undefined;
  }

  /** Sends one request (already framed) and waits for its response, a failure or the deadline. */
  async exec(frame: Uint8Array, timeoutMs: number): Promise<ExecOutcome> {
    if (this.busy) throw new Error("emulator bug: two requests in flight on one singleplex worker");
    this.busy = true;
    this.stderrChunks = [];
    try {
      if (this.failure) return this.failed(this.failure.kind, this.failure.message);
      this.child.stdin.write(frame);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = this.responses.shift();
        if (response) {
          this.requestsServed++;
          return { ok: true, response, stderr: this.stderrText() };
        }
        // Re-read through a call: the await below may have set it (TS narrows the field otherwise).
        const failure = this.currentFailure();
        if (failure) return this.failed(failure.kind, failure.message);
        const left = deadline - Date.now();
        if (left <= 0) return this.failed("timeout", `action deadline of ${timeoutMs} ms exceeded while waiting for the persistent worker`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      this.wake = undefined;
      this.busy = false;
    }
  }

  /**
   * Stops the worker: close stdin (the worker should exit on EOF), optionally send `signal`, and
   * SIGKILL by pid whatever is still alive after `graceMs`. Reports how it ended.
   */
  async stop(options: { signal?: NodeJS.Signals; graceMs: number }): Promise<"exited" | "SIGTERM" | "SIGKILL"> {
    if (this.exited) return "exited";
    this.child.stdin.end();
    const pid = this.child.pid;
    if (options.signal !== undefined && pid !== undefined) killPid(pid, options.signal);
    if (await waitForExit(this.child, options.graceMs)) return options.signal === "SIGTERM" ? "SIGTERM" : "exited";
    if (pid !== undefined) killPid(pid, "SIGKILL");
    await waitForExit(this.child, 5_000);
    return "SIGKILL";
  }

  private onStdout(chunk: Buffer): void {
    try {
      this.responses.push(...this.reader.push(chunk));
    } catch (err) {
      const raw = chunk.subarray(0, 4096).toString("utf8");
      this.fail("decode", `failed to read persistent work response: ${(err as Error).message}; stdout began ${JSON.stringify(raw.slice(0, 200))}`);
    }
    this.wake?.();
  }

  private fail(kind: "io" | "decode", message: string): void {
    this.failure ??= { kind, message };
    this.wake?.();
  }

  private currentFailure(): { kind: "io" | "decode"; message: string } | undefined {
    return this.failure;
  }

  private stderrText(): string {
    return Buffer.concat(this.stderrChunks).toString("utf8");
  }

  private failed(kind: "io" | "decode" | "timeout", message: string): ExecOutcome {
    return { ok: false, kind, message, stderr: this.stderrText() };
  }
}
