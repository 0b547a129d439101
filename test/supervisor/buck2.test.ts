// The supervisor behind the Buck2 front door, driven through the fake-Buck2 harness
// (docs/protocol/buck2-worker.md §15): crashes, timeouts and recycling replace tool processes while the
// worker (and its socket) stays up, and the end of the command leaves no process behind.
import { afterEach, describe, expect, it } from "vitest";
import { bridgeExe, descendants, type FakeBuck2 } from "../buck2/harness/index.js";
import { HarnessPool } from "../buck2/helpers.js";
import { FIXTURE_TOOL, isAlive, waitUntil } from "./helpers/bazel-client.js";

const pool = new HarnessPool();
afterEach(() => pool.cleanup());

type Outcome = Awaited<ReturnType<FakeBuck2["runAction"]>>;
function stderrOf(r: Outcome): string {
  return "stderr" in r ? r.stderr : `(${r.kind}: ${"message" in r ? r.message : ""})`;
}
function pidIn(r: Outcome): number {
  const m = /pid=(\d+)/.exec(stderrOf(r));
  if (!m) throw new Error(`no pid= in ${JSON.stringify(r)}`);
  return Number(m[1]);
}

describe("supervisor behind Buck2 (issue 4 §3, §4, §6, §7)", () => {
  it("a tool crash fails only that action (exit code named in stderr); the worker stays and a new tool process serves the next", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--host", "process") });
    const first = await buck2.runAction({ worker, args: ["--pid", "--stdout=captured"] });
    expect(first.kind).toBe("success");
    expect(stderrOf(first)).toContain("captured");
    const workerPid = buck2.worker(worker)!.pid;
    const crash = await buck2.runAction({ worker, args: ["--crash"] });
    expect(crash.kind).toBe("failed");
    if (crash.kind === "failed") expect(crash.exitCode).toBe(70);
    expect(stderrOf(crash)).toMatch(/tool process \d+ \(probe\) exited with code 70 while running request/);
    const after = await buck2.runAction({ worker, args: ["--pid"] });
    expect(after.kind).toBe("success");
    expect(pidIn(after)).not.toBe(pidIn(first));
    expect(buck2.worker(worker)!.pid).toBe(workerPid);
    const report = await buck2.endCommand(); // throws when a process survived the worker
    expect(report.workers[0]!.survivors).toEqual([]);
  });

  it("a timed-out action's abort reaches the tool; one that ignores it is hard-killed and replaced", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", FIXTURE_TOOL, "--host", "process", "--abort-grace-ms", "300") });
    const before = await buck2.runAction({ worker, args: ["--pid"] });
    const stuck = await buck2.runAction({ worker, args: ["--ignore-abort=60000"], timeoutS: 1 });
    expect(stuck.kind).toBe("timed-out");
    expect(stderrOf(stuck)).toMatch(/did not stop within 300 ms of being aborted; tool process \d+ was killed/);
    expect(await waitUntil(() => !isAlive(pidIn(before)))).toBe(true);
    const after = await buck2.runAction({ worker, args: ["--pid", "--aborted?"] });
    expect(after.kind).toBe("success");
    expect(pidIn(after)).not.toBe(pidIn(before));
    await buck2.endCommand();
  });

  it("--max-requests-per-tool recycles tool processes without dropping the worker; the end of the command stops them all", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "probe", "--host", "process", "--max-requests-per-tool", "2") });
    const pids: number[] = [];
    for (let i = 0; i < 5; i++) pids.push(pidIn(await buck2.runAction({ worker, args: ["--pid"] })));
    expect(new Set(pids).size).toBe(3);
    const workerPid = buck2.worker(worker)!.pid!;
    expect(descendants(workerPid).length).toBeGreaterThanOrEqual(1);
    const report = await buck2.endCommand();
    expect(report.workers[0]!.neededSigkill).toBe(false);
    expect(report.workers[0]!.survivors).toEqual([]);
  });
});
