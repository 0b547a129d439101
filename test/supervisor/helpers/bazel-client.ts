// The supervisor suites' Bazel front door: the built bridge with --persistent_worker, spoken to in
// varint-delimited proto by the tests' independent Bazel client (test/support/bazel-client).
// Everything it starts is killed by PID from a watchdog, so a hung worker fails the test instead of hanging it.
import { fileURLToPath } from "node:url";
import { BazelWorker, killAllWorkers, type WorkResponse } from "../../support/bazel-client/index.js";
import { requireBuiltCli } from "../../support/paths.js";

export { childPids } from "../../support/bazel-client/index.js";

export type Response = WorkResponse;

export interface BridgeOptions {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Node flags for the bridge (tool processes inherit them). */
  nodeArgs?: string[];
  /** Kill the bridge (and fail pending reads) after this long. */
  watchdogMs?: number;
}

/** Kills every bridge a test left running, with its tool processes (call from afterEach). */
export function killAllBridges(): void {
  killAllWorkers(true);
}

export class BazelBridge extends BazelWorker {
  constructor(options: BridgeOptions) {
    super({
      argv: [...(options.nodeArgs ?? []), requireBuiltCli(), "--persistent_worker", ...options.args],
      wire: "proto",
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
      watchdogMs: options.watchdogMs ?? 45_000,
    });
  }
}

/** Pid of the tool process that answered a probe `--pid` request. */
export function pidOf(r: Response): number {
  const m = /pid=(\d+)/.exec(r.output);
  if (!m) throw new Error(`no pid= in output: ${JSON.stringify(r.output)}`);
  return Number(m[1]);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until it holds or the deadline passes; returns its last value. */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

export const FIXTURE_TOOL = fileURLToPath(new URL("../fixtures/fixture-tool.mjs", import.meta.url));
