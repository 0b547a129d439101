// The reliability suites' view of a Bazel worker: the built CLI spawned as a persistent worker and
// driven by the tests' independent Bazel client (test/support/bazel-client), which parses stdout
// the way Bazel does — any byte that is not part of a well-formed WorkResponse is recorded as
// garbage. Every child is killed by PID by a watchdog, so a hung worker fails a test instead of hanging it.
import { fileURLToPath } from "node:url";
import { BazelWorker, encodeWorkRequest, encodeWorkRequestJson, frame, type WorkRequest, type WorkResponse } from "../../support/bazel-client/index.js";

export { killAllWorkers } from "../../support/bazel-client/index.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../../dist/cli.js", import.meta.url));

export type Protocol = "proto" | "json";
export type Response = WorkResponse;
export type Request = WorkRequest;
export type BazelWorkerProcess = BazelWorker;

export interface WorkerOptions {
  protocol: Protocol;
  /** Extra bridge/tool flags (e.g. --host=process, --max-message-mb=1). */
  args?: string[];
  tool?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Hard kill after this long, whatever happens. */
  watchdogMs?: number;
  /** Used by several tests: survives killAllWorkers() until killAllWorkers(true). */
  shared?: boolean;
}

/** Resolves once `pid` is gone (killed and reaped); rejects after `timeoutMs`. */
export async function waitForDeath(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function encodeRequest(protocol: Protocol, req: Request): Buffer {
  return protocol === "proto" ? frame(encodeWorkRequest(req)) : encodeWorkRequestJson(req, "compact");
}

export function startWorker(options: WorkerOptions): BazelWorker {
  return new BazelWorker({
    argv: [CLI, "--tool", options.tool ?? "probe", "--persistent_worker", `--protocol=${options.protocol}`, ...(options.args ?? [])],
    wire: options.protocol,
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? { ...process.env },
    watchdogMs: options.watchdogMs ?? 60_000,
    shared: options.shared === true,
  });
}

export const MODES: { name: string; protocol: Protocol; multiplex: boolean }[] = [
  { name: "proto singleplex", protocol: "proto", multiplex: false },
  { name: "proto multiplex", protocol: "proto", multiplex: true },
  { name: "json singleplex", protocol: "json", multiplex: false },
  { name: "json multiplex", protocol: "json", multiplex: true },
];

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
