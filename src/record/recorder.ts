import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DispatcherObserver } from "../core/dispatcher.js";
import type { Job, PreparedJob, Result } from "../core/job.js";
import type { Logger } from "../core/logger.js";
import { RECORD_FORMAT, requestFileName, type RecordedRequest, type RecordedSession } from "./record-format.js";
import { BridgeError } from "../errors.js";

export class RecordError extends BridgeError {
  override readonly name = "RecordError";
}

export interface RecorderOptions {
  dir: string;
  tool: string;
  toolModule: string;
  startupArgs: readonly string[];
  host: string;
  logger: Logger;
}

/**
 * `--record DIR`: writes each request and its result as the dispatcher finishes it. Writes are
 * synchronous on purpose — recording is for debugging, and a record lost to a crash is the one
 * that was needed. A failing disk is logged once and recording stops; requests are unaffected.
 */
export class Recorder implements DispatcherObserver {
  readonly sessionDir: string;
  private readonly seqs = new WeakMap<Job, number>();
  private nextSeq = 1;
  private broken = false;

  constructor(private readonly options: RecorderOptions) {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    this.sessionDir = join(resolve(options.dir), `${stamp}-${process.pid}`);
    try {
      mkdirSync(this.sessionDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new RecordError(`--record ${options.dir}: cannot create ${this.sessionDir}: ${(err as Error).message}`);
    }
    const session: RecordedSession = {
      format: RECORD_FORMAT,
      tool: options.tool,
      toolModule: options.toolModule,
      startupArgs: [...options.startupArgs],
      bridgeCwd: process.cwd(),
      host: options.host,
      pid: process.pid,
      node: process.version,
      startedAt: new Date().toISOString(),
    };
    this.write("session.json", session);
    options.logger.info("recording requests", { dir: this.sessionDir });
  }

  jobPrepared(job: Job): void {
    this.seqs.set(job, this.nextSeq++);
  }

  jobFinished(job: Job, prepared: PreparedJob | undefined, result: Result): void {
    let seq = this.seqs.get(job);
    if (seq === undefined) seq = this.nextSeq++;
    const record: RecordedRequest = {
      seq,
      origin: job.origin,
      id: job.id,
      args: [...job.args],
      ...(prepared ? { expandedArgs: [...prepared.args], env: { ...prepared.env } } : {}),
      inputs: job.inputs.map((i) => ({ path: i.path, digestHex: Buffer.from(i.digest).toString("hex") })),
      cwd: job.cwd,
      requestEnv: { ...job.env },
      ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
      verbosity: job.verbosity,
      result: {
        exitCode: result.exitCode,
        output: result.output,
        end: result.end,
        durationMs: result.durationMs,
        ...(result.hostPid !== undefined ? { hostPid: result.hostPid } : {}),
      },
    };
    this.write(requestFileName(seq), record);
  }

  private write(name: string, value: unknown): void {
    if (this.broken) return;
    try {
      writeFileSync(join(this.sessionDir, name), `${JSON.stringify(value, null, 1)}\n`, { mode: 0o600 });
    } catch (err) {
      this.broken = true;
      // The path only: the record's content (env) must never reach a log.
      this.options.logger.error("--record: cannot write; recording stopped", {
        file: join(this.sessionDir, name),
        error: (err as Error).message,
      });
    }
  }
}
