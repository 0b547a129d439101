import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { BuildbarnCluster, isAlive, liveClusterPids, REPO_ROOT, type ClusterOptions } from "./cluster.js";
import { BUNDLE } from "./demo-workspace.js";

export const CHECKS_WORKSPACE = join(REPO_ROOT, "test/buildbarn/workspace");

const provided = inject("buildbarn");
/** Why the suite cannot run here (printed by the global setup), or undefined when it can. */
export const skipReason: string | undefined = "skip" in provided ? provided.skip : undefined;
export const binDir = "binDir" in provided ? provided.binDir : "";
export const bazelBinary = "bazel" in provided ? provided.bazel : "";

/** PATH for actions: node's directory first, so `node` resolves on the executor as it does here. */
export function actionPathFlag(): string {
  return `--action_env=PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;
}

/**
 * A cluster for one test file: started in beforeAll, stopped in afterAll, and then every process it
 * started must be gone (checked by PID), actions it ran included.
 */
export function useCluster(options: Omit<ClusterOptions, "binDir"> = {}): { get(): BuildbarnCluster } {
  let cluster: BuildbarnCluster | undefined;
  let pids: number[] = [];
  beforeAll(async () => {
    if (skipReason !== undefined) return;
    cluster = await BuildbarnCluster.start({ binDir, ...options });
    pids = cluster.pids();
  });
  afterAll(async () => {
    if (cluster === undefined) return;
    const actions = await cluster.actionPids();
    await cluster.stop();
    expect(pids.filter(isAlive), "cluster processes still alive after stop()").toEqual([]);
    expect(actions.filter(isAlive), "action processes still alive after stop()").toEqual([]);
    expect(liveClusterPids()).toEqual([]);
  });
  return {
    get(): BuildbarnCluster {
      if (cluster === undefined) throw new Error("the cluster is not running");
      return cluster;
    },
  };
}

/** test/buildbarn/workspace copied to a temp dir, with the single-file bridge added as tools/worker-bridge.mjs. */
export function copyChecksWorkspace(): string {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), "wb-bb-checks-"));
  cpSync(CHECKS_WORKSPACE, dir, { recursive: true });
  cpSync(BUNDLE, join(dir, "tools/worker-bridge.mjs"));
  return dir;
}

export function removeDir(dir: string): void {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
}

/** One entry of Bazel 4.2.3's `--execution_log_json_file` (a SpawnExec). */
export interface SpawnExec {
  commandArgs: string[];
  environmentVariables?: { name: string; value?: string }[];
  platform?: { properties?: { name: string; value?: string }[] };
  inputs?: { path: string; digest?: { hash: string; sizeBytes: string }; isTool?: boolean }[];
  listedOutputs?: string[];
  actualOutputs?: { path: string; digest?: { hash: string; sizeBytes: string } }[];
  mnemonic?: string;
  runner?: string;
  remoteCacheHit?: boolean;
  status?: string;
  exitCode?: number;
  walltime?: string;
  remotable?: boolean;
  cacheable?: boolean;
  progressMessage?: string;
}

/** The log is a stream of pretty-printed JSON objects, one after the other. */
export function readExecutionLog(file: string): SpawnExec[] {
  const text = readFileSync(file, "utf8");
  const entries: SpawnExec[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) entries.push(JSON.parse(text.slice(start, i + 1)) as SpawnExec);
    }
  }
  return entries;
}

/** Every file under `dir`, relative path -> bytes. */
export function snapshotFiles(dir: string, skip: (rel: string) => boolean = () => false): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(rel, readFileSync(p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Pids of live daemons serving `daemonDir`, from /proc (their command line names it). */
export function daemonPidsServing(daemonDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (cmd.includes("serve") && cmd.includes(`--daemon-dir=${daemonDir}`) && isAlive(Number(name))) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** SIGKILLs every daemon serving `daemonDir` and waits (up to 10 s) until they are gone. */
export async function killDaemonsServing(daemonDir: string): Promise<void> {
  const pids = daemonPidsServing(daemonDir);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 200 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 50));
}

/** `worker-bridge daemon ARGS --daemon-dir=DIR` through the bundle; fails the test unless it exits 0. */
export function runDaemonCommand(daemonDir: string, ...args: string[]): string {
  const run = spawnSync(process.execPath, [BUNDLE, "daemon", ...args, `--daemon-dir=${daemonDir}`], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}
