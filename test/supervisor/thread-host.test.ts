// The thread host's guarantees (--host=thread), driven through the Bazel front door (proto): the
// process host's, except where a thread cannot give them (docs/supervisor.md, "The thread host").
// Threads are told apart by the fixture's --thread (their threadId); they all share the bridge's pid.
import { afterEach, describe, expect, it } from "vitest";
import { startMarker } from "../support/job-started.js";
import { BazelBridge, FIXTURE_TOOL, childPids, isAlive, killAllBridges, pidOf, waitUntil } from "./helpers/bazel-client.js";

type Response = Awaited<ReturnType<BazelBridge["request"]>>;

afterEach(() => killAllBridges());

function threadOf(r: Response): number {
  const m = /thread=(\d+)/.exec(r.output);
  if (!m) throw new Error(`no thread= in output: ${JSON.stringify(r.output)}`);
  return Number(m[1]);
}

function fixture(...args: string[]): BazelBridge {
  return new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "thread", ...args] });
}

describe("thread host: where the tool runs", () => {
  it("in a thread of the bridge process, started on the first request and reused; no child process", async () => {
    const b = fixture("--log-level", "debug");
    const first = await b.request(0, ["--pid", "--thread"]);
    const second = await b.request(0, ["--pid", "--thread"]);
    expect(pidOf(first)).toBe(b.pid);
    expect(threadOf(first)).toBeGreaterThan(0);
    expect(threadOf(second)).toBe(threadOf(first));
    expect(childPids(b.pid)).toEqual([]);
    await b.end();
    expect(b.stderr).toMatch(new RegExp(`tool thread started thread=${threadOf(first)} tool=fixture`));
  });
});

describe("thread host: output capture", () => {
  it("a print outside any job (in init) goes to the log, never to the protocol stream", async () => {
    const b = fixture("--print-at-init=INIT-PRINT");
    expect((await b.request(0, ["--thread"])).exitCode).toBe(0);
    await b.waitForStderr(/tool stderr thread=\d+ line=INIT-PRINT/);
    expect((await b.request(1, ["--thread"])).exitCode).toBe(0);
    await b.end();
    expect(b.rawStdout.includes(Buffer.from("INIT-PRINT"))).toBe(false);
    expect(b.pendingStdout).toBe(0);
    expect(b.garbage).toBeUndefined();
  });
});

describe("thread host: crash isolation", () => {
  it("an uncaught exception ends only its thread: its request fails with the crash report, the other thread's request finishes, a new thread serves", async () => {
    const b = fixture("--tools", "2", "--concurrency", "2");
    const survivor = b.response(1);
    const running = startMarker();
    b.send({ requestId: 1, arguments: [running.arg, "--thread", "--sleep=1500"] });
    await running.reached();
    const crashed = await b.request(2, ["--uncaught=thrown outside the job"]);
    expect(crashed.exitCode).toBe(1);
    expect(crashed.output).toMatch(/tool thread \d+ \(fixture\) exited with code 1 while running request 2; last lines of its stderr:\n {2}Error: thrown outside the job/);
    const ok = await survivor;
    expect(ok.exitCode).toBe(0);
    const dead = Number(/tool thread (\d+)/.exec(crashed.output)![1]);
    expect(threadOf(ok)).not.toBe(dead);
    const next = await b.request(3, ["--thread", "--pid"]);
    expect(next.exitCode).toBe(0);
    expect(pidOf(next)).toBe(b.pid);
    expect(threadOf(next)).not.toBe(dead);
    expect(await b.end()).toEqual({ code: 0, signal: null });
    expect(b.stderr).toMatch(new RegExp(`tool thread died thread=${dead} code=1`));
  });

  it("process.exit in the tool stops its thread, not the bridge: the request fails naming the code", async () => {
    const b = fixture();
    const before = threadOf(await b.request(0, ["--thread"]));
    const r = await b.request(1, ["--exit=70"]);
    expect(r.exitCode).toBe(70);
    expect(r.output).toMatch(new RegExp(`tool thread ${before} \\(fixture\\) exited with code 70 while running request 1`));
    const next = await b.request(2, ["--thread", "--pid"]);
    expect(threadOf(next)).not.toBe(before);
    expect(pidOf(next)).toBe(b.pid);
    expect(await b.end()).toEqual({ code: 0, signal: null });
  });

  it("running out of its heap (capped by --max-tool-memory-mb) ends the thread, reported as such; the bridge keeps answering", async () => {
    const b = fixture("--max-tool-memory-mb", "32");
    const r = await b.request(0, ["--oom"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/ran out of memory/);
    expect(r.output).toMatch(/heap/i);
    const next = await b.request(1, ["--pid"]);
    expect(next.exitCode).toBe(0);
    expect(pidOf(next)).toBe(b.pid);
    expect(await b.end()).toEqual({ code: 0, signal: null });
  });

  it("without a memory budget, the thread's heap limit is the bridge's (--max-old-space-size): reaching it ends only the thread", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "thread"], nodeArgs: ["--max-old-space-size=48"] });
    const r = await b.request(0, ["--oom"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/ran out of memory/);
    expect((await b.request(1, ["--pid"])).exitCode).toBe(0);
    expect(await b.end()).toEqual({ code: 0, signal: null });
  });

  it("after 5 failed starts, requests are answered at once with the crash-loop error and no new thread", async () => {
    const b = fixture("--fail-init", "--log-level", "debug");
    for (let i = 0; i < 5; i++) {
      const r = await b.request(i, ["--pid"]);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/tool fixture failed to initialise in thread \d+:\n.*init refused on purpose/);
    }
    const r = await b.request(9, ["--pid"]);
    expect(r.exitCode).toBe(1);
    expect(r.output).toMatch(/crashed 5 times within 60s \(last: init failed: Error: fixture: init refused on purpose\), so worker-bridge stopped restarting it/);
    await b.end();
    expect(b.stderr.match(/tool thread started/g)).toHaveLength(5);
    expect(b.stderr).toMatch(/tool threads are crash-looping; not restarting them for now/);
    expect(b.stderr).toMatch(/summary .*crashes=5/);
  });
});

describe("thread host: what a thread cannot do to the bridge", () => {
  it("process.chdir is refused inside a thread (the job fails saying so); process.env changes stay in the thread", async () => {
    const b = fixture("--max-requests-per-tool", "2");
    const chdir = await b.request(0, ["--chdir=/"]);
    expect(chdir.exitCode).not.toBe(0);
    expect(chdir.output).toMatch(/process\.chdir\(\) is not supported in workers/);
    // Same thread: the change is visible to it. The next thread starts from the bridge's env again.
    const set = await b.request(1, ["--thread", "--set-env=changed", "--get-env"]);
    expect(set.output).toContain("FIXTURE_SET=changed");
    const fresh = await b.request(2, ["--thread", "--get-env"]);
    expect(threadOf(fresh)).not.toBe(threadOf(set));
    expect(fresh.output).toContain("FIXTURE_SET=(unset)");
    await b.end();
  });
});

describe("thread host: recycling", () => {
  it("--max-requests-per-tool N: a thread serves N requests, then a new one takes over", async () => {
    const b = fixture("--max-requests-per-tool", "3", "--log-level", "info");
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(threadOf(await b.request(0, ["--thread"])));
    expect(ids[0]).toBe(ids[2]);
    expect(ids[3]).not.toBe(ids[2]);
    expect(ids[3]).toBe(ids[5]);
    expect(ids[6]).not.toBe(ids[5]);
    await b.end();
    expect(b.stderr).toMatch(/recycling tool thread thread=\d+ reason=requests served=3/);
    expect(b.stderr).toMatch(/summary requests=7 .*recycles=2/);
  });

  it("--max-tool-memory-mb: a thread whose heap exceeds the budget after a job is replaced", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "thread", "--max-tool-memory-mb", "150", "--log-level", "info"] });
    for (let i = 0; i < 6; i++) expect((await b.request(0, ["--alloc=60"])).exitCode).toBe(0);
    await b.end();
    // 60 MB kept per request: no thread can have served more than 3 before crossing 150 MB.
    const recycles = [...b.stderr.matchAll(/recycling tool thread thread=\d+ reason=memory served=(\d+) heapMb=(\d+)/g)];
    expect(recycles.length).toBeGreaterThanOrEqual(1);
    for (const m of recycles) {
      expect(Number(m[1])).toBeLessThanOrEqual(3);
      expect(Number(m[2])).toBeGreaterThan(150);
    }
  });
});

describe("thread host: cancellation", () => {
  it("a Bazel cancel fires the job's AbortSignal inside the thread; the thread survives", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "thread", "--concurrency", "2"] });
    const answer = b.response(2);
    const running = startMarker();
    b.send({ requestId: 2, arguments: [running.arg, "--hang"] });
    await running.reached();
    b.cancel(2);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toMatch(/aborted during --hang: Error: cancelled by Bazel/);
    await b.end();
    expect(b.stderr).not.toMatch(/tool thread died|hard cancel/);
  });

  it("hard cancel: a tool that ignores the abort has its thread terminated after --abort-grace-ms and the request is answered", async () => {
    const b = fixture("--abort-grace-ms", "300", "--log-level", "warn");
    const before = threadOf(await b.request(1, ["--thread"]));
    const answer = b.response(2);
    const running = startMarker();
    b.send({ requestId: 2, arguments: [running.arg, "--ignore-abort=60000"] });
    await running.reached();
    b.cancel(2);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toMatch(new RegExp(`request 2 did not stop within 300 ms of being aborted; tool thread ${before} was killed`));
    const next = await b.request(3, ["--thread"]);
    expect(next.exitCode).toBe(0);
    expect(threadOf(next)).not.toBe(before);
    await b.end();
    expect(b.stderr).toMatch(/hard cancel: an aborted request did not stop in time; killing its tool thread/);
  });

  it("startup handshake: a job aborted while its thread is still loading the tool is not killed for it; the tool runs and sees the abort", async () => {
    const b = fixture("--abort-grace-ms", "300", "--slow-init=1000", "--log-level", "debug");
    const answer = b.response(1);
    b.send({ requestId: 1, arguments: ["--aborted?", "--thread"] });
    await b.waitForStderr(/tool thread started/);
    b.cancel(1);
    const r = await answer;
    expect(r.wasCancelled).toBe(true);
    expect(r.output).toContain("aborted=true");
    const next = await b.request(2, ["--thread"]);
    expect(threadOf(next)).toBe(threadOf(r));
    await b.end();
  });
});

describe("thread host: shutdown", () => {
  it.each([
    ["stdin EOF", (b: BazelBridge) => b.child.stdin.end()],
    ["SIGTERM", (b: BazelBridge) => b.kill("SIGTERM")],
  ])("%s: the bridge exits 0, a timer the tool left running does not hold it", async (_name, stop) => {
    const b = fixture("--interval", "--tools", "2", "--concurrency", "2");
    const answers = [1, 2].map((id) => b.response(id));
    for (const id of [1, 2]) b.send({ requestId: id, arguments: ["--thread", "--sleep=400"] });
    const threads = (await Promise.all(answers)).map(threadOf);
    expect(new Set(threads).size).toBe(2);
    stop(b);
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });

  it("a thread busy in a job at SIGKILL of the bridge dies with it: the bridge has no child process that could be orphaned", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "thread"] });
    const running = startMarker();
    b.send({ requestId: 1, arguments: [running.arg, "--hang"] });
    await running.reached();
    expect(childPids(b.pid)).toEqual([]);
    b.kill("SIGKILL");
    expect((await b.exited).signal).toBe("SIGKILL");
    expect(await waitUntil(() => !isAlive(b.pid), 5_000)).toBe(true);
  });
});
