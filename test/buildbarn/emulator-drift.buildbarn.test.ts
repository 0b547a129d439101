// Issue 11 §4: the executor emulator's Buildbarn profile (test/remote/emulator) must not drift from
// the real thing. One action runs on the real cluster through Bazel; the very same action (the
// command line, environment and input root Bazel sent, read back from the execution log and the
// cluster's CAS) runs on the emulator; what the tool saw must be the same: argv, the working
// directory's name and contents (with modes), and the environment.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit } from "../e2e/support/bazel-session.js";
import { createExecutor, killAllChildren, type RemoteAction, type RemoteExecutor } from "../remote/emulator/index.js";
import { actionPathFlag, bazelBinary, copyChecksWorkspace, readExecutionLog, removeDir, skipReason, useCluster, type SpawnExec } from "./support.js";

const cluster = useCluster({ platformKeyExtractor: "static" });
let workspace = "";
let session: BazelSession | undefined;
let emulator: RemoteExecutor | undefined;

beforeAll(async () => {
  if (skipReason !== undefined) return;
  workspace = copyChecksWorkspace();
  session = await BazelSession.create({ bazel: bazelBinary, workspace, deadlineMs: 300_000 });
  emulator = createExecutor("buildbarn", { platformKeyExtractor: "static" });
});

afterAll(async () => {
  await emulator?.close();
  killAllChildren();
  await session?.dispose();
  expect(session?.serverPid(), "Bazel server still running").toBeUndefined();
  removeDir(workspace);
});

/** What tools/report.sh wrote, with the action's own directory replaced by `<cwd>`. */
interface Seen {
  argv0: string;
  args: string[];
  cwdName: string;
  env: Record<string, string>;
  files: string[];
}

function parseSeen(text: string): Seen {
  const lines = text.replace(/\n$/, "").split("\n");
  const cwd = lines.find((l) => l.startsWith("cwd="))!.slice(4);
  const hide = (s: string): string => s.split(cwd).join("<cwd>");
  const env: Record<string, string> = {};
  for (const l of lines.filter((l) => l.startsWith("env="))) {
    const [name, ...value] = l.slice(4).split("=");
    env[name!] = hide(value.join("="));
  }
  return {
    argv0: lines.find((l) => l.startsWith("argv0="))!.slice(6),
    args: lines.filter((l) => l.startsWith("arg=")).map((l) => hide(l.slice(4))),
    cwdName: cwd.slice(cwd.lastIndexOf("/") + 1),
    env,
    files: lines.filter((l) => l.startsWith("file=")).map((l) => l.slice(5)),
  };
}

/** The action Bazel sent, rebuilt from its execution log entry and the cluster's CAS. */
async function actionFromLog(spawn: SpawnExec): Promise<RemoteAction> {
  const inputRoot: Record<string, { content: Uint8Array; executable: boolean }> = {};
  for (const input of spawn.inputs ?? []) {
    // The log has no executable bit; Bazel 4.2.3 sends every input file as executable (the real
    // worker's modes show it), so the emulator gets them that way too.
    inputRoot[input.path] = { content: await cluster.get().readBlob(input.digest!.hash), executable: true };
  }
  return {
    arguments: spawn.commandArgs,
    platform: (spawn.platform?.properties ?? []).map((p) => ({ name: p.name, value: p.value ?? "" })),
    env: Object.fromEntries((spawn.environmentVariables ?? []).map((v) => [v.name, v.value ?? ""])),
    inputRoot,
    outputPaths: spawn.listedOutputs ?? [],
  };
}

describe.skipIf(skipReason !== undefined)("the emulator's Buildbarn profile against the real cluster", () => {
  test("the same action sees the same argv, working directory and environment on both", async () => {
    const s = session!;
    const log = join(s.root, "seen.json");
    const run = await s.build(["//checks:seen"], [...cluster.get().bazelFlags(), actionPathFlag(), `--execution_log_json_file=${log}`]);
    expect(run.exitCode, `${describeExit(run)}\n${run.stderr.slice(-4000)}\n${cluster.get().logs()}`).toBe(0);
    const [spawn] = readExecutionLog(log);
    expect(spawn!.runner).toBe("remote");
    const seenPath = spawn!.listedOutputs!.find((p) => p.endsWith(".seen"))!;
    const real = parseSeen(readFileSync(join(await s.info("execution_root"), seenPath), "utf8"));

    const result = await emulator!.execute(await actionFromLog(spawn!));
    expect(result.status.code, result.stderr).toBe("OK");
    expect(result.exitCode, result.stderr).toBe(0);
    const emulated = parseSeen(result.outputFiles[seenPath]!);

    // Sanity: the report is about this action.
    expect(real.args).toContain("--tool");
    expect(real.files.some((f) => f.endsWith(" ./tools/worker-bridge.mjs"))).toBe(true);

    expect(emulated).toEqual(real);
  });
});
