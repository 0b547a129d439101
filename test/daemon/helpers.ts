import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBuiltCli } from "../support/paths.js";

const CLI = requireBuiltCli();

export interface ClientRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh private daemon directory for one test (0700, under the OS temp dir). */
export function makeDaemonDir(): string {
  const parent = mkdtempSync(join(tmpdir(), "wb-daemon-"));
  chmodSync(parent, 0o700);
  return join(parent, "d");
}

export function removeDaemonDir(dir: string): void {
  rmSync(join(dir, ".."), { recursive: true, force: true });
}

export interface ClientOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** The bridge to run (default: the built dist/cli.js), e.g. a copy of the single-file bundle. */
  entry?: string;
}

/** Starts the CLI; `done` resolves when it exits. */
export function startClient(args: readonly string[], opts: ClientOptions = {}): { child: ChildProcess; done: Promise<ClientRun> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [opts.entry ?? CLI, ...args], { cwd: opts.cwd ?? process.cwd(), env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const done = new Promise<ClientRun>((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runClient(args: readonly string[], opts: ClientOptions = {}): Promise<ClientRun> {
  return startClient(args, opts).done;
}

/** Pids of live processes whose command line mentions `dir` (the daemons serving it). */
export function daemonPidsFor(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (cmd.includes("serve") && cmd.includes(`--daemon-dir=${dir}`) && !isZombie(Number(name))) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

/** SIGKILLs every daemon serving `dir` and waits until they are gone; returns how many there were. */
export async function killDaemons(dir: string): Promise<number> {
  const pids = daemonPidsFor(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await waitUntil(() => pids.every((p) => !isAlive(p)), 10_000);
  return pids.length;
}

/** The daemon info files in `dir`, parsed. */
export function daemonInfos(dir: string): { pid: number; socket: string; log: string; key: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, n), "utf8")) as { pid: number; socket: string; log: string; key: string });
    } catch {
      // being replaced
    }
  }
  return out;
}

export function pidFrom(stderr: string): number {
  const m = /pid=(\d+)/.exec(stderr);
  if (!m) throw new Error(`no pid= line in: ${stderr}`);
  return Number(m[1]);
}

/** Lines the client wrote about falling back. */
export function fallbackLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("worker-bridge: daemon unavailable"));
}
