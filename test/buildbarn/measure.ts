// Per-action figures for docs/remote-execution.md ("Buildbarn"): bazel-demo's probe and tsc actions
// one-shot on the local machine against one-shot on a loopback Buildbarn cluster, one action at a
// time (--jobs=1), from Bazel's own profile. Both runs happen here, back to back, on one Bazel server.
//   npm run build && node --import tsx test/buildbarn/measure.ts
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BazelSession, describeExit, findBazel } from "../e2e/support/bazel-session.js";
import { BuildbarnCluster, ensureBinaries } from "./cluster.js";
import { copyDemo, DEMO_TARGETS, medianActionMs } from "./demo-workspace.js";

const bazel = findBazel();
if (bazel === undefined) throw new Error("bazel is not on PATH");
const binaries = ensureBinaries((l) => console.log(l));
if (!binaries.ok) throw new Error(binaries.reason);

const base = mkdtempSync(join(tmpdir(), "wb-bb-measure-"));
const cluster = await BuildbarnCluster.start({ binDir: binaries.binDir });
const session = await BazelSession.create({ bazel, workspace: copyDemo(base), deadlineMs: 1_200_000 });
const path = `--action_env=PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;
const local = ["--spawn_strategy=local", ...["ProbeProto", "ProbeJson", "ProbeMultiplex", "ProbeMultiplexJson", "TsCompile"].map((m) => `--strategy=${m}=local`)];
try {
  const build = async (name: string, flags: string[], targets = DEMO_TARGETS): Promise<string> => {
    const profile = join(session.root, `${name}.profile.json`);
    const run = await session.build(targets, ["--jobs=1", path, `--action_env=SALT=${name}`, `--profile=${profile}`, ...flags]);
    if (run.exitCode !== 0) throw new Error(`${name}: ${describeExit(run)}\n${run.stderr.slice(-4000)}\n${cluster.logs()}`);
    console.log(`${name}: ${(run.wallMs / 1000).toFixed(1)} s wall, processes ${JSON.stringify(run.processes)}, load ${loadavg()[0]!.toFixed(1)}`);
    return profile;
  };
  await build("local-warmup", local, ["//demo:proto", "//ts:lib00"]);
  const localProfile = await build("local", local);
  // Uploads the bundle and TypeScript once, so the measured run pays only per-action inputs.
  await build("remote-warmup", cluster.bazelFlags(), ["//demo:proto", "//ts:lib00"]);
  const remoteProfile = await build("remote", cluster.bazelFlags());
  console.log("| action | local one-shot: median ms | remote one-shot (Buildbarn): median ms | remote / local |");
  console.log("|---|---|---|---|");
  for (const [label, prefix] of [["probe (4 mnemonics)", "Probe"], ["tsc (TsCompile)", "Compiling TypeScript "]] as const) {
    const l = medianActionMs(localProfile, prefix);
    const r = medianActionMs(remoteProfile, prefix);
    console.log(`| ${label}, ${r.count} actions | ${l.median.toFixed(0)} | ${r.median.toFixed(0)} | ${(r.median / l.median).toFixed(2)}x |`);
  }
} finally {
  await session.dispose();
  await cluster.stop();
  rmSync(base, { recursive: true, force: true });
}
