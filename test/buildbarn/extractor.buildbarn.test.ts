// Issue 11 §3: what the real scheduler does with an action carrying persistentWorkerKey when the
// platform key extractor is not `static`. Bazel 4.2.3 puts the target's platform properties in
// both Action.platform and Command.platform, so `action` and `actionAndCommand` behave alike.
// docs/remote-execution.md ("Buildbarn") says exactly this.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit, type BuildRun } from "../e2e/support/bazel-session.js";
import { BuildbarnCluster, isAlive, type PlatformKeyExtractor } from "./cluster.js";
import { actionPathFlag, bazelBinary, binDir, copyChecksWorkspace, readExecutionLog, removeDir, skipReason } from "./support.js";

let workspace = "";
let session: BazelSession | undefined;

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

const NO_WORKERS = 'No workers exist for instance name prefix "" platform {"properties":[{"name":"persistentWorkerKey","value":"0123456789abcdef"}]}';

interface Outcome {
  run: BuildRun;
  runners: string[];
}

/**
 * Builds `//checks:ok` and `//checks:worker_key` on a cluster of their own. `windowS` is the
 * scheduler's platformQueueWithNoWorkersTimeout; with `afterWindow` the builds start only once it
 * has passed since the scheduler started.
 */
async function buildBoth(extractor: PlatformKeyExtractor, windowS: number, afterWindow: boolean): Promise<{ plain: Outcome; keyed: Outcome }> {
  const cluster = await BuildbarnCluster.start({ binDir, platformKeyExtractor: extractor, noWorkersTimeout: `${windowS}s` });
  const pids = cluster.pids();
  try {
    if (afterWindow) {
      const wait = cluster.schedulerStartedAt + windowS * 1000 + 500 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const build = async (target: string): Promise<Outcome> => {
      const log = join(session!.root, `${extractor}-${windowS}-${target.replace(/\W/g, "_")}.json`);
      const salt = `--action_env=SALT=${extractor}-${windowS}`;
      const run = await session!.build([target], [...cluster.bazelFlags(), actionPathFlag(), salt, `--execution_log_json_file=${log}`]);
      return { run, runners: readExecutionLog(log).map((e) => e.runner ?? "?") };
    };
    const plain = await build("//checks:ok");
    const keyed = await build("//checks:worker_key");
    const error = keyed.run.stderr.split("\n").find((l) => l.startsWith("ERROR:")) ?? "(no ERROR line)";
    console.log(`buildbarn: ${extractor} extractor, window ${windowS} s: worker_key ${describeExit(keyed.run)} after ${(keyed.run.wallMs / 1000).toFixed(1)} s: ${error}`);
    return { plain, keyed };
  } finally {
    await cluster.stop();
    expect(pids.filter(isAlive)).toEqual([]);
  }
}

describe.skipIf(skipReason !== undefined)("Buildbarn's platform key extractors and persistentWorkerKey (Bazel 4.2.3)", () => {
  for (const extractor of ["action", "actionAndCommand"] as const) {
    test(`${extractor}: an action without platform properties runs; one with persistentWorkerKey fails at once with FAILED_PRECONDITION`, async () => {
      const { plain, keyed } = await buildBoth(extractor, 1, true);
      expect(plain.run.exitCode, plain.run.stderr.slice(-3000)).toBe(0);
      expect(plain.runners).toEqual(["remote"]);
      // 34: Bazel's exit code for a remote execution error.
      expect(keyed.run.exitCode, keyed.run.stderr.slice(-3000)).toBe(34);
      expect(keyed.run.stderr).toContain(`ProbeRun checks/worker_key.txt failed: (Exit 34): FAILED_PRECONDITION: ${NO_WORKERS}`);
      // Not queued: the scheduler refuses the action as it arrives.
      expect(keyed.run.wallMs).toBeLessThan(60_000);
    });
  }

  test("action: within platformQueueWithNoWorkersTimeout of the scheduler's start the answer is UNAVAILABLE; Bazel retries, then fails", async () => {
    const { keyed } = await buildBoth("action", 600, false);
    expect(keyed.run.exitCode, keyed.run.stderr.slice(-3000)).toBe(34);
    expect(keyed.run.timedOut).toBe(false);
    expect(keyed.run.stderr).toContain(`ProbeRun checks/worker_key.txt failed: (Exit 34): UNAVAILABLE: ${NO_WORKERS}`);
    expect(keyed.run.wallMs).toBeLessThan(120_000);
  });
});
