// Issue 11 §3: Bazel 4.2.3 against a real Buildbarn cluster, on test/buildbarn/workspace: outputs
// as a local build makes them, remote cache hits after `bazel clean`, a failing tool, bad argfiles,
// a persistentWorkerKey under the static platform key extractor, and the cluster dying mid-build.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit, type BazelRun } from "../e2e/support/bazel-session.js";
import { pidsWithCwdUnder } from "./cluster.js";
import { actionPathFlag, bazelBinary, copyChecksWorkspace, readExecutionLog, removeDir, skipReason, snapshotFiles, useCluster } from "./support.js";

const cluster = useCluster({ platformKeyExtractor: "static" });
let workspace = "";
let session: BazelSession | undefined;
let logs = 0;

beforeAll(async () => {
  if (skipReason !== undefined) return;
  workspace = copyChecksWorkspace();
  session = await BazelSession.create({ bazel: bazelBinary, workspace, deadlineMs: 300_000 });
});

afterAll(async () => {
  await session?.dispose();
  expect(session?.serverPid(), "Bazel server still running").toBeUndefined();
  removeDir(workspace);
});

function executionLog(): string {
  return join(session!.root, `exec-${++logs}.json`);
}

function remoteFlags(): string[] {
  return [...cluster.get().bazelFlags(), actionPathFlag(), "--remote_timeout=60"];
}

function context(run: BazelRun): string {
  return `${describeExit(run)}\n${run.stderr.slice(-5000)}\n${cluster.get().logs()}`;
}

describe.skipIf(skipReason !== undefined)("Buildbarn: Bazel 4.2.3 runs the bridge one-shot on a real cluster", () => {
  test("outputs (non-ASCII included) are byte-identical to a local build; every action ran remotely; after clean, all remote cache hits", async () => {
    const s = session!;
    const targets = ["//checks:ok", "//checks:unicode"];
    const local = await s.build(targets, ["--spawn_strategy=local", actionPathFlag()]);
    expect(local.exitCode, context(local)).toBe(0);
    const bin = join(await s.info("bazel-bin"), "checks");
    const localOutputs = snapshotFiles(bin, (rel) => rel.endsWith(".params"));
    expect([...localOutputs.keys()].sort()).toEqual(["ok.txt", "unicode.txt"]);
    expect(await s.run("clean")).toMatchObject({ exitCode: 0 });

    const log = executionLog();
    const remote = await s.build(targets, [...remoteFlags(), `--execution_log_json_file=${log}`]);
    expect(remote.exitCode, context(remote)).toBe(0);
    const spawns = readExecutionLog(log);
    expect(spawns.map((e) => [e.mnemonic, e.runner, e.remoteCacheHit ?? false])).toEqual([
      ["ProbeRun", "remote", false],
      ["ProbeRun", "remote", false],
    ]);
    expect(remote.processes, remote.stderr).toMatchObject({ remote: 2 });
    expect(snapshotFiles(bin, (rel) => rel.endsWith(".params"))).toEqual(localOutputs);
    // Bazel 4.2.3 reads BUILD files as ISO-8859-1 and writes the strings out as UTF-8: the text
    // arrives double-encoded, remote and local alike (undoing one encoding gives the BUILD text).
    const unicode = localOutputs.get("unicode.txt")!.toString("utf8");
    expect(unicode).not.toBe("unicode: héllo wörld ✓ — ünïcødé");
    expect(Buffer.from(unicode, "latin1").toString("utf8")).toBe("unicode: héllo wörld ✓ — ünïcødé");
    // The tool's output reached Bazel from the remote action.
    expect(remote.stderr).toContain("ok ran");
    expect(remote.stderr).toContain("nested line");

    expect(await s.run("clean")).toMatchObject({ exitCode: 0 });
    const again = executionLog();
    const cached = await s.build(targets, [...remoteFlags(), `--execution_log_json_file=${again}`]);
    expect(cached.exitCode, context(cached)).toBe(0);
    expect(readExecutionLog(again).map((e) => [e.runner, e.remoteCacheHit])).toEqual([
      ["remote cache hit", true],
      ["remote cache hit", true],
    ]);
    expect(cached.processes, cached.stderr).toMatchObject({ "remote cache hit": 2 });
    expect(snapshotFiles(bin, (rel) => rel.endsWith(".params"))).toEqual(localOutputs);
  });

  test("a failing tool: its exit code and output reach Bazel", async () => {
    const log = executionLog();
    const run = await session!.build(["//checks:fails"], [...remoteFlags(), `--execution_log_json_file=${log}`]);
    expect(run.exitCode, context(run)).toBe(1);
    expect(run.timedOut).toBe(false);
    expect(run.stderr).toMatch(/ProbeRun checks\/fails\.txt failed: \(Exit 3\)/);
    expect(run.stderr).toContain("the tool says no");
    expect(run.stderr).toContain("failing on purpose");
    const [spawn] = readExecutionLog(log);
    expect(spawn).toMatchObject({ runner: "remote", exitCode: 3 });
  });

  test("an @argfile missing from the input root fails the action, naming the path", async () => {
    const run = await session!.build(["//checks:missing_argfile"], remoteFlags());
    expect(run.exitCode, context(run)).toBe(1);
    expect(run.stderr).toMatch(/cannot read argfile @checks\/not-an-input\.args \(\/\S+\/root\/checks\/not-an-input\.args\)/);
  });

  test("an @argfile that cannot be read (a directory) fails the action, naming the path", async () => {
    const run = await session!.build(["//checks:unreadable_argfile"], remoteFlags());
    expect(run.exitCode, context(run)).toBe(1);
    expect(run.stderr).toMatch(/cannot read argfile @checks \(\/\S+\/root\/checks\): it is a directory/);
  });

  test("an action carrying persistentWorkerKey runs one-shot under the static platform key extractor", async () => {
    const log = executionLog();
    const run = await session!.build(["//checks:worker_key"], [...remoteFlags(), `--execution_log_json_file=${log}`]);
    expect(run.exitCode, context(run)).toBe(0);
    const [spawn] = readExecutionLog(log);
    expect(spawn!.runner).toBe("remote");
    expect(spawn!.platform?.properties).toEqual([{ name: "persistentWorkerKey", value: "0123456789abcdef" }]);
    expect(spawn!.commandArgs).not.toContain("--persistent_worker");
    expect(run.stderr).toContain("worker key action");
  });

  // Last: it leaves this file's cluster dead.
  test("the cluster stopped mid-build: Bazel fails within the deadline, never hangs", async () => {
    const c = cluster.get();
    const build = session!.build(["//checks:slow"], [...remoteFlags(), "--remote_retries=2"], 240_000);
    // Wait for the action to be running on the worker, then kill every cluster process.
    const deadline = Date.now() + 180_000;
    while ((await pidsWithCwdUnder(c.buildDirectory)).length === 0) {
      if (Date.now() > deadline) throw new Error(`the slow action never started on the worker\n${c.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const stoppedAt = performance.now();
    c.crash();
    const run = await build;
    const afterStopMs = performance.now() - stoppedAt;
    expect(run.timedOut, context(run)).toBe(false);
    expect(run.exitCode, context(run)).not.toBe(0);
    expect(run.stderr).toMatch(/UNAVAILABLE|io exception|Connection refused|connection refused/i);
    console.log(`buildbarn: Bazel failed ${(afterStopMs / 1000).toFixed(1)} s after the cluster was killed (${describeExit(run)})`);
  });
});
