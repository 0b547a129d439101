import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OneShotRun } from "./one-shot.js";
import type { ActionResult, ExecutionTrace, RemoteAction } from "./remote-action.js";

export interface EmulatorOptions {
  /** The runner image's environment, under the action env (default: just PATH). */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Deadline for actions without `timeoutMs` (default 60 s: generous, for a shared 2-core machine). */
  readonly defaultTimeoutMs?: number;
  /** Seed for the executor's randomness (input order, JSON spacing). */
  readonly seed?: number;
}

/** Temp-dir ownership, env and timeout defaults shared by every profile. */
export class ExecutorBase {
  /** A promise, not a path: concurrent first actions must share one root, not race to create two. */
  private root: Promise<string> | undefined;
  protected readonly baseEnv: Readonly<Record<string, string>>;
  protected readonly defaultTimeoutMs: number;

  constructor(
    private readonly label: string,
    options: EmulatorOptions,
  ) {
    this.baseEnv = options.baseEnv ?? (process.env.PATH !== undefined ? { PATH: process.env.PATH } : {});
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  }

  /** A fresh directory under this executor's private temp root. */
  protected async newDir(kind: string): Promise<string> {
    this.root ??= mkdtemp(join(tmpdir(), `wb-remote-${this.label}-`));
    const root = await this.root;
    await mkdir(join(root, kind), { recursive: true });
    return mkdtemp(join(root, kind, "d"));
  }

  protected envFor(action: RemoteAction): Record<string, string> {
    return { ...this.baseEnv, ...action.env };
  }

  protected timeoutFor(action: RemoteAction): number {
    return action.timeoutMs ?? this.defaultTimeoutMs;
  }

  protected async removeRoot(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    if (root !== undefined) await rm(await root, { recursive: true, force: true });
  }
}

/** Maps a one-shot run onto an ActionResult the way every REAPI executor does. */
export function oneShotResult(run: OneShotRun, argv: readonly string[], outputFiles: Record<string, string>, timeoutMs: number): ActionResult {
  const execution: ExecutionTrace = { path: "one-shot", argv: [...argv], ...(run.pid !== undefined ? { workerPid: run.pid } : {}) };
  if (run.spawnError !== undefined) {
    return { status: { code: "INVALID_ARGUMENT", message: run.spawnError }, exitCode: -1, stdout: run.stdout, stderr: run.stderr, outputFiles: {}, execution };
  }
  if (run.timedOut) {
    return {
      status: { code: "DEADLINE_EXCEEDED", message: `action timed out after ${timeoutMs} ms` },
      exitCode: run.exitCode,
      stdout: run.stdout,
      stderr: run.stderr,
      outputFiles,
      execution,
    };
  }
  return { status: { code: "OK", message: "" }, exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr, outputFiles, execution };
}

/** Fisher–Yates with the executor's PRNG: BuildBuddy sends inputs in Go map order. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
