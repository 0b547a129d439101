// Issue 12 on a real Buildbarn worker (docs/daemon.md): bazel-demo's probe actions run one-shot on
// the worker, each with its own copy of the bundle in its own build directory, and with
// WORKER_BRIDGE_DAEMON=on they are served by one warm daemon that the first action starts in a
// daemon directory under /tmp (bb_runner leaves detached processes alone). The daemon runs its own
// copy of the bundle, so it outlives every build directory. Outputs stay byte-identical; a daemon
// killed between builds costs nothing but a restart. The tsc targets are left out here.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit, type BazelRun } from "../e2e/support/bazel-session.js";
import { copyDemo } from "./demo-workspace.js";
import { actionPathFlag, bazelBinary, daemonPidsServing, killDaemonsServing, readExecutionLog, runDaemonCommand, removeDir, skipReason, snapshotFiles, useCluster } from "./support.js";

const TARGETS = ["//demo/..."];
const ACTIONS = 4 * 6;

const cluster = useCluster({ platformKeyExtractor: "static" });
let base = "";
let daemonParent = "";
let daemonDir = "";
let session: BazelSession | undefined;

/** Pids of live daemons serving the test's directory. */
const daemonPids = (): number[] => daemonPidsServing(daemonDir);

const killDaemons = (): Promise<void> => killDaemonsServing(daemonDir);

const daemonCli = (...args: string[]): string => runDaemonCommand(daemonDir, ...args);

beforeAll(async () => {
  if (skipReason !== undefined) return;
  base = mkdtempSync(join(tmpdir(), "wb-bb-daemon-"));
  // Short (a socket path has at most 107 bytes) and private; the worker runs as this user.
  daemonParent = mkdtempSync("/tmp/wb-bbd-");
  chmodSync(daemonParent, 0o700);
  daemonDir = join(daemonParent, "d");
  session = await BazelSession.create({ bazel: bazelBinary, workspace: copyDemo(base), deadlineMs: 600_000 });
});

afterAll(async () => {
  if (daemonDir !== "") {
    await killDaemons();
    expect(daemonPids(), "daemons still alive").toEqual([]);
  }
  await session?.dispose();
  expect(session?.serverPid(), "Bazel server still running").toBeUndefined();
  removeDir(base);
  removeDir(daemonParent);
});

function context(run: BazelRun): string {
  return `${describeExit(run)}\n${run.stderr.slice(-6000)}\n${cluster.get().logs()}`;
}

const demoOutputs = async (s: BazelSession): Promise<Map<string, Buffer>> =>
  snapshotFiles(join(await s.info("bazel-bin"), "demo"), (rel) => rel.endsWith(".params"));

describe.skipIf(skipReason !== undefined)("Buildbarn: probe actions through the warm daemon on the worker", () => {
  test("one daemon serves every remote action, outputs byte-identical; a daemon killed between builds is replaced", async () => {
    const s = session!;
    const remote = (salt: string, log: string, ...extra: string[]): Promise<BazelRun> =>
      s.build(TARGETS, [...cluster.get().bazelFlags(), actionPathFlag(), "--remote_timeout=120", `--define=probe_salt=${salt}`, `--execution_log_json_file=${log}`, ...extra]);
    const daemonFlags = ["--action_env=WORKER_BRIDGE_DAEMON=on", `--action_env=WORKER_BRIDGE_DAEMON_DIR=${daemonDir}`];

    const plain = await remote("plain", join(s.root, "plain.json"));
    expect(plain.exitCode, context(plain)).toBe(0);
    const expected = await demoOutputs(s);
    expect(expected.size).toBe(ACTIONS);

    const warmLog = join(s.root, "warm.json");
    const warm = await remote("warm", warmLog, ...daemonFlags);
    expect(warm.exitCode, context(warm)).toBe(0);
    const spawns = readExecutionLog(warmLog);
    expect(spawns.filter((e) => e.runner === "remote")).toHaveLength(ACTIONS);
    const outputs = await demoOutputs(s);
    for (const [path, bytes] of expected) expect(outputs.get(path)?.equals(bytes), path).toBe(true);
    // Proof: one daemon answered all of them, and none fell back to running in-process.
    const pids = daemonPids();
    expect(pids).toHaveLength(1);
    const status = daemonCli("status");
    expect(status, status).toContain("1 daemon(s), 0 in-process fallback(s) logged");
    expect(status, status).toMatch(new RegExp(`pid ${pids[0]} serving tool probe .*: ${ACTIONS} request\\(s\\), 0 in flight`));
    // It runs its own content-named copy of the bundle, not one in a (now deleted) build directory.
    const argv = readFileSync(`/proc/${pids[0]}/cmdline`, "utf8").split("\0");
    expect(argv[1]).toMatch(new RegExp(`^${daemonDir}/bridges/worker-bridge-[0-9a-f]{64}\\.mjs$`));
    console.log(`buildbarn daemon: ${ACTIONS} remote actions through daemon pid ${pids[0]}: build wall ${(warm.wallMs / 1000).toFixed(1)} s (daemon start included)`);

    await killDaemons();
    expect(daemonPids()).toEqual([]);
    const after = await remote("after-kill", join(s.root, "after.json"), ...daemonFlags);
    expect(after.exitCode, context(after)).toBe(0);
    const again = await demoOutputs(s);
    for (const [path, bytes] of expected) expect(again.get(path)?.equals(bytes), path).toBe(true);
    const replaced = daemonPids();
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).not.toBe(pids[0]);
    const afterStatus = daemonCli("status");
    console.log(`buildbarn daemon: after SIGKILL of pid ${pids[0]}: ${afterStatus.trim().split("\n").join(" | ")}`);

    const stopped = daemonCli("stop");
    expect(stopped).toBe(`pid ${replaced[0]}: stopped\n`);
    expect(daemonPids()).toEqual([]);
  });
});
