import { spawn } from "node:child_process";
import { killPid, registerChild, waitForExit } from "./child-registry.js";

export interface OneShotRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the process could not be started (missing executable, not executable). */
  readonly spawnError?: string;
  readonly pid?: number;
}

/**
 * Runs a command line once, as any REAPI executor does without worker support: argv[0] is
 * executed directly (relative paths resolve against `cwd`, the input root), no shell.
 * On timeout the process gets SIGTERM, then SIGKILL after `killGraceMs`.
 */
export async function runOneShot(
  argv: readonly string[],
  options: { cwd: string; env: Readonly<Record<string, string>>; timeoutMs: number; killGraceMs?: number },
): Promise<OneShotRun> {
  const [exe, ...args] = argv;
  if (exe === undefined) return { exitCode: -1, stdout: "", stderr: "", timedOut: false, spawnError: "empty command line" };
  const child = spawn(exe, args, { cwd: options.cwd, env: { ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  registerChild(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => stdout.push(c));
  child.stderr.on("data", (c: Buffer) => stderr.push(c));
  let timedOut = false;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) killPid(child.pid, "SIGTERM");
    void waitForExit(child, options.killGraceMs ?? 5_000).then((exited) => {
      if (!exited && child.pid !== undefined) killPid(child.pid, "SIGKILL");
    });
  }, options.timeoutMs);
  const end = await done;
  clearTimeout(timer);
  const text = (parts: Buffer[]): string => Buffer.concat(parts).toString("utf8");
  if (end.error) {
    return { exitCode: -1, stdout: text(stdout), stderr: text(stderr), timedOut, spawnError: `fork/exec ${exe}: ${end.error.message}` };
  }
  const exitCode = end.code ?? 128 + signalNumber(end.signal);
  return { exitCode, stdout: text(stdout), stderr: text(stderr), timedOut, ...(child.pid !== undefined ? { pid: child.pid } : {}) };
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (signal === "SIGKILL") return 9;
  if (signal === "SIGTERM") return 15;
  return 1;
}
