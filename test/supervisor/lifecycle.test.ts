// Recycling, cancellation reaching the tool, hard cancel, shutdown and orphan prevention, driven
// through the Bazel front door (proto).
import { afterEach, describe, expect, it } from "vitest";
import { startMarker } from "../support/job-started.js";
import { BazelBridge, FIXTURE_TOOL, childPids, isAlive, killAllBridges, pidOf, waitUntil } from "./helpers/bazel-client.js";

afterEach(() => killAllBridges());

describe("recycling (issue 4 §4; docs/lessons.md §6 #2)", () => {
  it("--max-requests-per-tool N: a process serves N requests, then a new one takes over on the same connection", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--max-requests-per-tool", "3", "--log-level", "info"] });
    const pids: number[] = [];
    for (let i = 0; i < 7; i++) pids.push(pidOf(await b.request(0, ["--pid"])));
    expect(pids[0]).toBe(pids[2]);
    expect(pids[3]).not.toBe(pids[2]);
    expect(pids[3]).toBe(pids[5]);
    expect(pids[6]).not.toBe(pids[5]);
    // Retired processes exit on their own once done.
    expect(await waitUntil(() => !isAlive(pids[0]!) && !isAlive(pids[3]!))).toBe(true);
    await b.end();
    expect(b.stderr).toMatch(/recycling tool process pid=\d+ reason=requests served=3/);
    expect(b.stderr).toMatch(/summary requests=7 .*recycles=2/);
  });

  it("--max-tool-memory-mb: a process whose RSS exceeds the budget after a job is replaced; memory stays bounded", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--max-tool-memory-mb", "150", "--log-level", "info"] });
    const pids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await b.request(0, ["--alloc=60", "--pid"]);
      expect(r.exitCode).toBe(0);
      pids.push(pidOf(r));
    }
    // 60 MB retained per request: no process can have served more than 3 before crossing 150 MB.
    const runs = new Map<number, number>();
    for (const p of pids) runs.set(p, (runs.get(p) ?? 0) + 1);
    expect(runs.size).toBeGreaterThanOrEqual(2);
    for (const n of runs.values()) expect(n).toBeLessThanOrEqual(3);
    await b.end();
    expect(b.stderr).toMatch(/recycling tool process pid=\d+ reason=memory/);
  });
});

describe("cancellation reaches the tool (issue 4 §6; docs/lessons.md §6 #7)", () => {
  it("a Bazel cancel fires the job's AbortSignal inside the tool process; the process survives", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--concurrency", "2"] });
    const pid = pidOf(await b.request(1, ["--pid"]));
    const answer = b.response(2);
    const running = startMarker();
    b.send({ requestId: 2, arguments: [running.arg, "--hang"] });
    await running.reached();
    b.cancel(2);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toMatch(/aborted during --hang: Error: cancelled by Bazel/);
    expect(pidOf(await b.request(3, ["--pid"]))).toBe(pid);
    await b.end();
  });

  it("hard cancel: a tool that ignores the abort is killed after --abort-grace-ms and the request is answered", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process", "--abort-grace-ms", "300", "--log-level", "warn"] });
    const pid = pidOf(await b.request(1, ["--pid"]));
    const answer = b.response(2);
    b.send({ requestId: 2, arguments: ["--raw-stderr=request 2 running", "--ignore-abort=60000"] });
    await b.waitForStderr(/line=request 2 running/);
    b.cancel(2);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toMatch(new RegExp(`request 2 did not stop within 300 ms of being aborted; tool process ${pid} was killed`));
    expect(await waitUntil(() => !isAlive(pid))).toBe(true);
    const next = await b.request(3, ["--pid"]);
    expect(next.exitCode).toBe(0);
    expect(pidOf(next)).not.toBe(pid);
    await b.end();
    expect(b.stderr).toMatch(/hard cancel: an aborted request did not stop in time; killing its tool process/);
  });
});

describe("hard cancel grace (issue 4 §6)", () => {
  it("a job aborted while its process is still loading the tool is not killed for it: the tool runs and sees the abort", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process", "--abort-grace-ms", "300", "--slow-init=1000"] });
    const answer = b.response(1);
    b.send({ requestId: 1, arguments: ["--aborted?", "--pid"] });
    // Cancel once the job is on its way to a tool process, which is still in its 1 s init (longer than the grace).
    expect(await waitUntil(() => childPids(b.pid).length > 0)).toBe(true);
    b.cancel(1);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toContain("aborted=true");
    expect(isAlive(pidOf(r))).toBe(true);
    await b.end();
  });
});

describe("shutdown and orphans (issue 4 §7; docs/lessons.md §6 #10)", () => {
  it.each([
    ["stdin EOF", (b: BazelBridge) => b.child.stdin.end()],
    ["SIGTERM", (b: BazelBridge) => b.kill("SIGTERM")],
  ])("%s stops every tool process cleanly", async (_name, stop) => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--tools", "2", "--concurrency", "2"] });
    const answers = [1, 2].map((id) => b.response(id));
    for (const id of [1, 2]) b.send({ requestId: id, arguments: ["--pid", "--sleep=400"] });
    const pids = (await Promise.all(answers)).map(pidOf);
    expect(new Set(pids).size).toBe(2);
    stop(b);
    const exit = await b.exited;
    expect(exit.code).toBe(0);
    expect(await waitUntil(() => pids.every((p) => !isAlive(p)), 5_000)).toBe(true);
  });

  it("when the bridge is SIGKILLed, its tool processes notice and exit (no orphans)", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--tools", "2", "--concurrency", "2"] });
    const answers = [1, 2].map((id) => b.response(id));
    for (const id of [1, 2]) b.send({ requestId: id, arguments: ["--pid", "--sleep=400"] });
    const pids = (await Promise.all(answers)).map(pidOf);
    expect(childPids(b.pid).sort()).toEqual([...pids].sort());
    // One of them busy at the moment of death.
    const running = startMarker();
    b.send({ requestId: 3, arguments: [running.arg, "--hang"] });
    await running.reached();
    b.kill("SIGKILL");
    await b.exited;
    const gone = await waitUntil(() => pids.every((p) => !isAlive(p)), 5_000);
    for (const p of pids) if (isAlive(p)) process.kill(p, "SIGKILL"); // leave nothing behind even on failure
    expect(gone).toBe(true);
  });
});
