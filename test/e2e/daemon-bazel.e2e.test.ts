import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, requireBuiltCli } from "../support/paths.js";
import { DEMO_MNEMONICS, DEMO_TARGETS, LOCAL_STRATEGY_FLAGS } from "./bazel-runner.js";
import { BazelSession, describeExit, findBazel, type BuildRun } from "./support/bazel-session.js";
import { privateDemoWorkspace, type DemoWorkspace } from "./support/demo-workspace.js";

/**
 * Real Bazel, one-shot actions (`--strategy=<Mnemonic>=local`) through the warm daemon
 * (docs/daemon.md): the outputs must be byte-identical to a plain one-shot build. Bazel's local
 * strategy kills every process an action leaves behind, so a daemon that serves a whole build is
 * started outside it (`worker-bridge daemon start`); one that an action starts is killed with the
 * action, and clients must notice and stop starting them. The actions run the bundle from the
 * execroot, the test from its workspace copy: the key names the bridge by content, so both reach
 * the same daemon.
 */

const bazel = findBazel();
const requireBazel = process.env.REQUIRE_BAZEL === "1";
const SKIP_REASON = "bazel is not on PATH (install Debian's bazel-bootstrap; CI sets REQUIRE_BAZEL=1)";
if (bazel === undefined && !requireBazel) console.warn(`[bazel daemon e2e] skipped: ${SKIP_REASON}`);

const MODE_DIRS = ["proto", "json", "multiplex", "multiplex_json"];
const TOTAL_ACTIONS = 6 * DEMO_MNEMONICS.length;

async function readOutputs(binDir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const dir of MODE_DIRS) {
    for (let i = 1; i <= 6; i++) files.set(`demo/${dir}/file${i}.txt`, await readFile(join(binDir, `demo/${dir}/file${i}.txt`)));
  }
  return files;
}

function expectBuildSucceeded(run: BuildRun): void {
  if (run.exitCode !== 0 || run.timedOut) throw new Error(`bazel ${run.args.join(" ")} failed: ${describeExit(run)}\n${run.stderr.slice(-6000)}`);
}

/** Pids of live daemons serving `dir`, from /proc (no zombies). */
function daemonPids(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      const state = readFileSync(`/proc/${name}/status`, "utf8");
      if (cmd.includes("serve") && cmd.includes(`--daemon-dir=${dir}`) && !/^State:\s+Z/m.test(state)) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function killDaemons(dir: string): void {
  for (const pid of daemonPids(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** A short private daemon directory (socket paths are limited to 107 bytes), outside any sandbox. */
function newDaemonDir(): string {
  const parent = mkdtempSync("/tmp/wb-bzd-");
  chmodSync(parent, 0o700);
  return join(parent, "d");
}

describe.skipIf(bazel === undefined && !requireBazel)("Bazel --strategy=local with the daemon (docs/daemon.md)", () => {
  let session: BazelSession;
  let workspace: DemoWorkspace | undefined;
  let binDir: string;
  let bridgeCli: string;
  let plain: Map<string, Buffer>;
  const dirs: string[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    if (bazel === undefined) throw new Error(`REQUIRE_BAZEL=1 but ${SKIP_REASON}`);
    workspace = await privateDemoWorkspace(REPO_ROOT);
    session = await BazelSession.create({ bazel, workspace: workspace.dir });
    bridgeCli = join(workspace.dir, workspace.bundle);
    // The node of this test, so that the actions' clients and `daemon start` here agree on the key.
    session.addBuildFlags(`--action_env=WORKER_BRIDGE_NODE=${process.execPath}`, ...LOCAL_STRATEGY_FLAGS);
    binDir = await session.info("bazel-bin");
    const run = await session.build(DEMO_TARGETS, ["--define=probe_salt=plain"]);
    expectBuildSucceeded(run);
    expect(run.processes.local).toBe(TOTAL_ACTIONS);
    plain = await readOutputs(binDir);
  });

  afterAll(async () => {
    await session?.dispose();
    workspace?.dispose();
    for (const d of dirs) {
      killDaemons(d);
      rmSync(dirname(d), { recursive: true, force: true });
    }
  });

  it("a daemon started before the build serves every one-shot action; outputs are byte-identical to a plain one-shot build", async () => {
    const dir = newDaemonDir();
    dirs.push(dir);
    // The same command line the actions run, minus the request: same node, the same bridge (by
    // content: the actions run their own copy of it), same key.
    const start = spawnSync(process.execPath, [bridgeCli, "daemon", "start", `--daemon-dir=${dir}`, "--tool", "probe"], { encoding: "utf8" });
    expect(start.status, start.stderr + start.stdout).toBe(0);
    const [daemonPid] = daemonPids(dir);
    expect(daemonPid).toBeDefined();
    // require: an action the daemon could not serve fails the build instead of falling back.
    const run = await session.build(DEMO_TARGETS, [
      "--define=probe_salt=daemon",
      "--action_env=WORKER_BRIDGE_DAEMON=require",
      `--action_env=WORKER_BRIDGE_DAEMON_DIR=${dir}`,
    ]);
    expectBuildSucceeded(run);
    expect(run.processes.local).toBe(TOTAL_ACTIONS);
    const outputs = await readOutputs(binDir);
    for (const [file, bytes] of plain) expect(outputs.get(file)?.equals(bytes), `${file} differs from the plain one-shot build`).toBe(true);
    const status = spawnSync(process.execPath, [bridgeCli, "daemon", "status", `--daemon-dir=${dir}`], { encoding: "utf8" });
    expect(status.stdout).toContain(`pid ${daemonPid} serving tool`);
    expect(status.stdout).toMatch(new RegExp(`: ${TOTAL_ACTIONS} request\\(s\\), 0 in flight`));
    expect(status.stdout).toContain("0 in-process fallback(s)");
    // The actions ran in the daemon's tool processes: their pids are not the actions' own.
    expect(new Set(run.actions.map((a) => a.pid)).size).toBeLessThan(TOTAL_ACTIONS);
    const stop = spawnSync(process.execPath, [bridgeCli, "daemon", "stop", `--daemon-dir=${dir}`], { encoding: "utf8" });
    expect(stop.stdout).toBe(`pid ${daemonPid}: stopped\n`);
    expect(daemonPids(dir)).toEqual([]);
  });

  it("with no daemon running, actions start one that Bazel kills at action end: clients stop starting them, every action still succeeds", async () => {
    const dir = newDaemonDir();
    dirs.push(dir);
    const run = await session.build(DEMO_TARGETS, [
      "--define=probe_salt=autostart",
      "--action_env=WORKER_BRIDGE_DAEMON=on",
      `--action_env=WORKER_BRIDGE_DAEMON_DIR=${dir}`,
    ]);
    expectBuildSucceeded(run);
    const outputs = await readOutputs(binDir);
    for (const [file, bytes] of plain) expect(outputs.get(file)?.equals(bytes), `${file} differs from the plain one-shot build`).toBe(true);
    const logs = readdirSync(dir).filter((n) => n.endsWith(".log") && n.startsWith("d-"));
    const starts = logs.map((n) => readFileSync(join(dir, n), "utf8").match(/daemon serving/g)?.length ?? 0).reduce((a, b) => a + b, 0);
    console.log(`[bazel daemon e2e] auto-start under --strategy=local: ${starts} daemon start(s) for ${TOTAL_ACTIONS} actions; alive after the build: ${daemonPids(dir).length}`);
    // Not one start per action: after two daemons were killed the clients stopped starting them.
    expect(starts).toBeGreaterThan(0);
    expect(starts).toBeLessThan(TOTAL_ACTIONS / 2);
  });
});
