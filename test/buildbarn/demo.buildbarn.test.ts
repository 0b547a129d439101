// Issue 11 §3: Bazel 4.2.3 with --remote_executor/--remote_cache against a real Buildbarn cluster
// builds bazel-demo unchanged: the probe targets of every worker mode and the 22 TypeScript
// libraries run one-shot on the worker (the bridge, and TypeScript for tsc, are action inputs),
// byte-identical to a local build; after `bazel clean` everything is a remote cache hit.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit, type BazelRun } from "../e2e/support/bazel-session.js";
import { copyDemo, DEMO_TARGETS, medianActionMs } from "./demo-workspace.js";
import { actionPathFlag, bazelBinary, readExecutionLog, removeDir, skipReason, snapshotFiles, useCluster, type SpawnExec } from "./support.js";

const TARGETS = DEMO_TARGETS;
const PROBE_MNEMONICS = ["ProbeProto", "ProbeJson", "ProbeMultiplex", "ProbeMultiplexJson"];

const cluster = useCluster({ platformKeyExtractor: "static" });
let base = "";
let session: BazelSession | undefined;

beforeAll(async () => {
  if (skipReason !== undefined) return;
  base = mkdtempSync(join(tmpdir(), "wb-bb-demo-"));
  session = await BazelSession.create({ bazel: bazelBinary, workspace: copyDemo(base), deadlineMs: 600_000 });
});

afterAll(async () => {
  await session?.dispose();
  expect(session?.serverPid(), "Bazel server still running").toBeUndefined();
  removeDir(base);
});

function context(run: BazelRun): string {
  return `${describeExit(run)}\n${run.stderr.slice(-6000)}\n${cluster.get().logs()}`;
}

const outputsOf = async (s: BazelSession): Promise<Map<string, Buffer>> =>
  snapshotFiles(await s.info("bazel-bin"), (rel) => rel.endsWith(".params") || rel.endsWith("-2.params") || rel.startsWith("external"));

function count(spawns: SpawnExec[], by: (e: SpawnExec) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of spawns) out[by(e)] = (out[by(e)] ?? 0) + 1;
  return out;
}

describe.skipIf(skipReason !== undefined)("Buildbarn: bazel-demo builds remotely, unchanged", () => {
  test("probe targets in every mode and //ts/...: all remote, byte-identical to local one-shot, then all remote cache hits", async () => {
    const s = session!;
    const localStrategy = ["--spawn_strategy=local", ...[...PROBE_MNEMONICS, "TsCompile"].map((m) => `--strategy=${m}=local`)];
    const localLog = join(s.root, "local.json");
    const local = await s.build(TARGETS, [actionPathFlag(), ...localStrategy, `--execution_log_json_file=${localLog}`, `--profile=${join(s.root, "local.profile.json")}`]);
    expect(local.exitCode, context(local)).toBe(0);
    const localOutputs = await outputsOf(s);
    expect(localOutputs.size).toBeGreaterThan(4 * 6 + 22);
    expect(await s.run("clean")).toMatchObject({ exitCode: 0 });

    const remoteLog = join(s.root, "remote.json");
    const remote = await s.build(TARGETS, [
      ...cluster.get().bazelFlags(),
      actionPathFlag(),
      "--remote_timeout=120",
      `--execution_log_json_file=${remoteLog}`,
      `--profile=${join(s.root, "remote.profile.json")}`,
    ]);
    expect(remote.exitCode, context(remote)).toBe(0);
    const spawns = readExecutionLog(remoteLog);
    expect(count(spawns, (e) => e.runner ?? "?")).toEqual({ remote: 4 * 6 + 22 });
    expect(count(spawns, (e) => e.mnemonic ?? "?")).toEqual({ ProbeProto: 6, ProbeJson: 6, ProbeMultiplex: 6, ProbeMultiplexJson: 6, TsCompile: 22 });
    expect(spawns.every((e) => !e.commandArgs.includes("--persistent_worker"))).toBe(true);
    const remoteOutputs = await outputsOf(s);
    expect([...remoteOutputs.keys()].sort()).toEqual([...localOutputs.keys()].sort());
    for (const [path, bytes] of localOutputs) expect(remoteOutputs.get(path)?.equals(bytes), path).toBe(true);

    expect(await s.run("clean")).toMatchObject({ exitCode: 0 });
    const cachedLog = join(s.root, "cached.json");
    const cached = await s.build(TARGETS, [...cluster.get().bazelFlags(), actionPathFlag(), `--execution_log_json_file=${cachedLog}`]);
    expect(cached.exitCode, context(cached)).toBe(0);
    expect(count(readExecutionLog(cachedLog), (e) => e.runner ?? "?")).toEqual({ "remote cache hit": 4 * 6 + 22 });
    const cachedOutputs = await outputsOf(s);
    for (const [path, bytes] of localOutputs) expect(cachedOutputs.get(path)?.equals(bytes), path).toBe(true);

    expect(count(readExecutionLog(localLog), (e) => e.runner ?? "?")).toEqual({ local: 4 * 6 + 22 });
    for (const [mnemonic, prefix] of [["Probe*", "Probe"], ["TsCompile", "Compiling TypeScript "]] as const) {
      const l = medianActionMs(join(s.root, "local.profile.json"), prefix);
      const r = medianActionMs(join(s.root, "remote.profile.json"), prefix);
      const expected = mnemonic === "TsCompile" ? 22 : 24;
      expect([l.count, r.count]).toEqual([expected, expected]);
      console.log(`buildbarn: ${mnemonic} median per action at --jobs=8, queueing included (${r.count} actions): local one-shot ${l.median.toFixed(0)} ms, remote one-shot ${r.median.toFixed(0)} ms (${(r.median / l.median).toFixed(2)}x)`);
    }
    console.log(`buildbarn: bazel-demo wall: local one-shot ${(local.wallMs / 1000).toFixed(1)} s, remote ${(remote.wallMs / 1000).toFixed(1)} s, remote cache hits ${(cached.wallMs / 1000).toFixed(1)} s`);
  });
});
