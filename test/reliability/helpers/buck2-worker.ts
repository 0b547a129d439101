// Starts the built CLI as a Buck2 worker through the fake-Buck2 harness (test/buck2/harness, Buck2
// docs/protocol/buck2-worker.md §15): worker dir, forkserver-like spawn, Buck2's connect retry, unary or streaming calls.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createWorkerDir } from "../../buck2/harness/worker-dir.js";
import { WorkerProcess, type InitFailure, type WorkerInfoSpec } from "../../buck2/harness/worker-process.js";
import { CLI } from "./bazel-client.js";

export { executeCommand } from "../../buck2/harness/grpc-client.js";
export type { CallOutcome } from "../../buck2/harness/worker-process.js";

export interface Buck2Worker {
  readonly worker: WorkerProcess;
  /** Short root under /tmp (the socket path must stay under 108 bytes). */
  readonly root: string;
  readonly failure: InitFailure | undefined;
  readonly violations: string[];
}

const started = new Set<{ worker: WorkerProcess; root: string; shared: boolean }>();

export interface StartOptions {
  /** Bridge/tool flags after `--tool NAME`. */
  args?: string[];
  tool?: string;
  streaming?: boolean;
  projectRoot?: string;
  /** Replaces the whole exe (e.g. a wrapper); default: node dist/cli.js --tool <tool> <args>. */
  exe?: string[];
  env?: Record<string, string>;
  connectDeadlineMs?: number;
  /** Shared by several tests of a describe: survives killAllBuck2Workers() until killAllBuck2Workers(true). */
  shared?: boolean;
}

export async function startBuck2Worker(options: StartOptions = {}): Promise<Buck2Worker> {
  const root = await mkdtemp("/tmp/wbr-");
  const dir = await createWorkerDir(root, randomUUID(), 1);
  const violations: string[] = [];
  const info: WorkerInfoSpec = {
    exe: options.exe ?? [process.execPath, CLI, "--tool", options.tool ?? "probe", ...(options.args ?? [])],
    ...(options.env ? { env: options.env } : {}),
    ...(options.streaming ? { streaming: true } : {}),
  };
  const worker = new WorkerProcess({
    id: 1,
    info,
    dir,
    projectRoot: options.projectRoot ?? root,
    connectDeadlineMs: options.connectDeadlineMs ?? 30_000,
    violation: (m) => violations.push(m),
  });
  started.add({ worker, root, shared: options.shared === true });
  const failure = await worker.ready;
  return { worker, root, failure, violations };
}

/** Watchdog for afterEach: kill (by PID) every worker and its process group, remove the roots. */
export async function killAllBuck2Workers(includeShared = false): Promise<void> {
  for (const s of started) {
    if (s.shared && !includeShared) continue;
    s.worker.kill();
    await rm(s.root, { recursive: true, force: true });
    started.delete(s);
  }
}
