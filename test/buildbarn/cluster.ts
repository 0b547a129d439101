import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import { mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real Buildbarn cluster on loopback for the tests: bazel-remote (CAS + AC), bb_scheduler,
 * bb_worker and bb_runner, started from the binaries buildbarn/build.sh caches and the configs in
 * buildbarn/config/. See docs/remote-execution.md ("Buildbarn").
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CONFIG_DIR = join(REPO_ROOT, "buildbarn/config");
const BUILD_SCRIPT = join(REPO_ROOT, "buildbarn/build.sh");
const BINARIES = ["bazel-remote", "bb_scheduler", "bb_worker", "bb_runner"] as const;

export type PlatformKeyExtractor = "static" | "action" | "actionAndCommand";

export type BinariesResult = { ok: true; binDir: string; built: boolean; buildMs: number } | { ok: false; reason: string };

/**
 * The cluster's binaries: the cached ones, or built now by buildbarn/build.sh (about 15 min cold
 * on 2 cores). Never throws: a missing `go` or an unreachable module proxy becomes a reason.
 */
export function ensureBinaries(log: (line: string) => void = () => undefined): BinariesResult {
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.status !== 0) return { ok: false, reason: "`go` is not installed (it builds the Buildbarn cluster: buildbarn/build.sh)" };
  const cached = spawnSync("bash", [BUILD_SCRIPT, "--print-dir"], { encoding: "utf8" });
  const started = performance.now();
  if (cached.status === 0) return { ok: true, binDir: cached.stdout.trim(), built: false, buildMs: 0 };
  log("buildbarn: building the cluster's binaries (buildbarn/build.sh; about 15 min cold on 2 cores)");
  // A deadline, so that a stalled module download fails the suite instead of hanging CI.
  const built = spawnSync("bash", [BUILD_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024, timeout: 45 * 60_000, killSignal: "SIGKILL" });
  const buildMs = performance.now() - started;
  if (built.status !== 0) {
    const how = built.signal !== null ? `killed by ${built.signal} after ${Math.round(buildMs / 1000)} s` : `exit ${built.status}`;
    return { ok: false, reason: `buildbarn/build.sh failed (${how}):\n${(built.stderr ?? "").slice(-6000)}` };
  }
  const lines = built.stdout.trim().split("\n");
  return { ok: true, binDir: lines[lines.length - 1]!, built: true, buildMs };
}

export interface ClusterOptions {
  readonly binDir: string;
  /** The scheduler's `platformKeyExtractor` (buildbarn/config/scheduler.jsonnet); `static` by default. */
  readonly platformKeyExtractor?: PlatformKeyExtractor;
  /** `platformQueueWithNoWorkersTimeout`, e.g. "10s" (default "15s"). */
  readonly noWorkersTimeout?: string;
  /** Readiness deadline (default 120 s: the machine may be loaded). */
  readonly readyTimeoutMs?: number;
}

interface Member {
  readonly name: (typeof BINARIES)[number];
  readonly child: ChildProcess;
  readonly log: WriteStream;
  exit?: string;
}

/** Every cluster process this test process started, so a watchdog can kill them all by PID. */
const started = new Set<number>();
process.once("exit", () => {
  for (const pid of started) killQuietly(pid, "SIGKILL");
});

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** True while `pid` runs; a zombie (killed, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Every cluster process started by this test process that is still alive. */
export function liveClusterPids(): number[] {
  return [...started].filter(isAlive);
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once("error", () => resolveConnect(false));
  });
}

async function registeredWorkers(metricsPort: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    let total = 0;
    for (const m of text.matchAll(/^buildbarn_builder_in_memory_build_queue_workers_created_total(?:\{.*\})? (\d+)$/gm)) total += Number(m[1]);
    return total;
  } catch {
    return 0;
  }
}

export class BuildbarnCluster {
  private stopped = false;
  /** When bb_scheduler was started (performance.now()): its no-workers grace window counts from here. */
  schedulerStartedAt = 0;

  private constructor(
    readonly dataDir: string,
    readonly casPort: number,
    /** bazel-remote's HTTP port: `GET /cas/<sha256>` reads a blob. */
    readonly casHttpPort: number,
    readonly schedulerPort: number,
    readonly metricsPort: number,
    readonly platformKeyExtractor: PlatformKeyExtractor,
    private readonly members: Member[],
  ) {}

  /** Starts the four processes on free loopback ports and waits until the worker has registered. */
  static async start(options: ClusterOptions): Promise<BuildbarnCluster> {
    for (const name of BINARIES) {
      if (!existsSync(join(options.binDir, name))) throw new Error(`${join(options.binDir, name)} is missing: run bash buildbarn/build.sh`);
    }
    const dataDir = await mkdtemp(join(tmpdir(), "wb-buildbarn-"));
    for (const dir of ["logs", "cas", "worker/build", "worker/cache"]) mkdirSync(join(dataDir, dir), { recursive: true });
    const [casPort, casHttpPort, schedulerPort, workerPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const extractor = options.platformKeyExtractor ?? "static";
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      BB_CAS_PORT: String(casPort),
      BB_SCHEDULER_CLIENT_PORT: String(schedulerPort),
      BB_SCHEDULER_WORKER_PORT: String(workerPort),
      BB_SCHEDULER_METRICS_PORT: String(metricsPort),
      BB_DATA_DIR: dataDir,
      BB_PLATFORM_KEY_EXTRACTOR: extractor,
      BB_NO_WORKERS_TIMEOUT: options.noWorkersTimeout ?? "15s",
    };
    const members: Member[] = [];
    const cluster = new BuildbarnCluster(dataDir, casPort, casHttpPort, schedulerPort, metricsPort, extractor, members);
    const launch = (name: Member["name"], args: string[]): Member => {
      const log = createWriteStream(join(dataDir, "logs", `${name}.log`));
      const child = spawn(join(options.binDir, name), args, { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      const member: Member = { name, child, log };
      if (child.pid !== undefined) started.add(child.pid);
      child.once("exit", (code, signal) => {
        member.exit = signal !== null ? `signal ${signal}` : `exit ${code}`;
      });
      child.once("error", (err) => {
        member.exit = `spawn error: ${err.message}`;
      });
      members.push(member);
      return member;
    };
    try {
      launch("bazel-remote", [
        `--dir=${join(dataDir, "cas")}`,
        "--max_size=2",
        `--grpc_address=127.0.0.1:${casPort}`,
        `--http_address=127.0.0.1:${casHttpPort}`,
      ]);
      launch("bb_runner", [join(CONFIG_DIR, "runner.jsonnet")]);
      cluster.schedulerStartedAt = performance.now();
      launch("bb_scheduler", [join(CONFIG_DIR, "scheduler.jsonnet")]);
      await cluster.waitFor("bazel-remote's gRPC port", () => canConnect(casPort), options.readyTimeoutMs);
      await cluster.waitFor("the runner's socket", async () => existsSync(join(dataDir, "runner.sock")), options.readyTimeoutMs);
      await cluster.waitFor("the scheduler's ports", async () => (await canConnect(schedulerPort)) && (await canConnect(workerPort)), options.readyTimeoutMs);
      launch("bb_worker", [join(CONFIG_DIR, "worker.jsonnet")]);
      await cluster.waitFor("the worker's registration", async () => (await registeredWorkers(metricsPort)) > 0, options.readyTimeoutMs);
    } catch (err) {
      const logs = cluster.logs();
      await cluster.stop();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return cluster;
  }

  private async waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = this.members.find((m) => m.exit !== undefined);
      if (dead) throw new Error(`Buildbarn cluster: ${dead.name} ended (${dead.exit}) while waiting for ${what}`);
      if (await ready()) return;
      if (Date.now() > deadline) throw new Error(`Buildbarn cluster: ${what} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A blob of the cluster's CAS, by SHA-256. */
  async readBlob(hash: string): Promise<Buffer> {
    const response = await fetch(`http://127.0.0.1:${this.casHttpPort}/cas/${hash}`);
    if (!response.ok) throw new Error(`CAS blob ${hash}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }

  /** The flags that point Bazel 4.2.3 at this cluster (it needs both). */
  bazelFlags(): string[] {
    return [`--remote_executor=grpc://127.0.0.1:${this.schedulerPort}`, `--remote_cache=grpc://127.0.0.1:${this.casPort}`];
  }

  /** Where bb_runner runs actions: each in `<buildDirectory>/<random>/root`. */
  get buildDirectory(): string {
    return join(this.dataDir, "worker/build");
  }

  /** Processes still running inside the build directory: actions (and what they started). */
  actionPids(): Promise<number[]> {
    return pidsWithCwdUnder(this.buildDirectory);
  }

  pids(): number[] {
    return this.members.map((m) => m.child.pid).filter((p): p is number => p !== undefined);
  }

  /** A member's exit, once it has ended (e.g. "exit 1"). */
  exitOf(name: Member["name"]): string | undefined {
    return this.members.find((m) => m.name === name)?.exit;
  }

  /** The last part of every member's log, for a failing test's message. */
  logs(maxPerMember = 4000): string {
    return this.members
      .map((m) => {
        let text = "";
        try {
          text = readFileSync(join(this.dataDir, "logs", `${m.name}.log`), "utf8");
        } catch {
          // not written yet
        }
        return `--- ${m.name} (pid ${m.child.pid ?? "?"}${m.exit ? `, ${m.exit}` : ""}) ---\n${text.slice(-maxPerMember)}`;
      })
      .join("\n");
  }

  /**
   * SIGTERM every member by PID, SIGKILL what is left after `graceMs`, then remove the data
   * directory. Resolves once every member has exited.
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const live = this.members.filter((m) => m.exit === undefined && m.child.pid !== undefined);
    const exited = live.map((m) => new Promise<void>((r) => (m.exit !== undefined ? r() : m.child.once("exit", () => r()))));
    for (const m of live) killQuietly(m.child.pid!, "SIGTERM");
    const timer = setTimeout(() => {
      for (const m of live) if (m.exit === undefined) killQuietly(m.child.pid!, "SIGKILL");
    }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
    // bb_runner does not take its actions down with it: whatever still runs in the build directory
    // (an action cut off mid-run) is killed by PID too.
    const orphans = new Set<number>();
    for (let attempt = 0; attempt < 100; attempt++) {
      for (const pid of await this.actionPids()) orphans.add(pid);
      const live = [...orphans].filter(isAlive);
      if (live.length === 0) break;
      for (const pid of live) killQuietly(pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const m of this.members) {
      m.log.end();
      if (m.child.pid !== undefined) started.delete(m.child.pid);
    }
    await rm(this.dataDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Kills every member at once (SIGKILL): a cluster that dies mid-build. Keeps the data dir for stop(). */
  crash(): void {
    for (const m of this.members) if (m.exit === undefined && m.child.pid !== undefined) killQuietly(m.child.pid, "SIGKILL");
  }
}

/** Pids of live processes whose working directory is inside `dir` (Linux /proc). */
export async function pidsWithCwdUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => "");
    if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(name));
  }
  return pids;
}
