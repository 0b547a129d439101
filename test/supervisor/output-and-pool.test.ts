// Per-request output and the tool-process pool, driven through the Bazel front door (proto).
import { afterEach, describe, expect, it } from "vitest";
import { BazelBridge, FIXTURE_TOOL, childPids, killAllBridges, pidOf } from "./helpers/bazel-client.js";

afterEach(() => killAllBridges());

describe.each(["process", "thread", "inline"] as const)("per-request output, --host=%s (issue 4 §5; docs/lessons.md §6 #1)", (host) => {
  it("console.log and console.error inside a job land in that job's output, never on the protocol stream", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", host] });
    const r = await b.request(0, ["--stdout=to-stdout", "--stderr=to-stderr", "--echo=result"]);
    expect(r.exitCode).toBe(0);
    expect(r.output).toBe("to-stdout\nto-stderr\nresult");
    expect(await b.end()).toEqual({ code: 0, signal: null });
    // Every stdout byte was part of a well-formed response frame.
    expect(b.pendingStdout).toBe(0);
    expect(b.garbage).toBeUndefined();
    expect(b.stderr).not.toContain("to-stdout");
  });

  it("concurrent jobs' prints are attributed to their own job (multiplex)", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", host, "--concurrency", "4"] });
    const answers = [1, 2, 3, 4].map((id) => b.response(id));
    for (const id of [1, 2, 3, 4]) b.send({ requestId: id, arguments: [`--stdout=a${id}`, `--sleep=${50 * (5 - id)}`, `--stderr=b${id}`] });
    const rs = await Promise.all(answers);
    for (const r of rs) expect(r.output).toBe(`a${r.requestId}\nb${r.requestId}\n`);
    await b.end();
  });
});

describe("tool process output hygiene (issue 4 §1; docs/lessons.md §6 #1)", () => {
  it("a raw write to fd 1 in a tool process is logged on stderr with its pid and never corrupts the protocol", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process"] });
    const r = await b.request(0, ["--raw-stdout=STRAY-BYTES", "--raw-stderr=DIAG-LINE", "--pid"]);
    expect(r.exitCode).toBe(0);
    const r2 = await b.request(0, ["--pid"]);
    expect(pidOf(r2)).toBe(pidOf(r));
    await b.end();
    expect(b.rawStdout.includes(Buffer.from("STRAY-BYTES"))).toBe(false);
    expect(b.stderr).toMatch(new RegExp(`wrote to its stdout outside any request.*pid=${pidOf(r)}.*STRAY-BYTES`));
    expect(b.stderr).toMatch(/tool stderr pid=\d+ line=DIAG-LINE/);
  });
});

describe("pool (issue 4 §2)", () => {
  it("starts no tool process before the first request (lazy) and reuses it afterwards", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--log-level", "debug"] });
    // A cancel for no request is read, logged and ignored: once it is logged the bridge is serving
    // (an eager pool would have started its processes by then), and no job was ever sent.
    b.cancel(99);
    await b.waitForStderr(/ignoring cancel for a request that is not running/);
    expect(childPids(b.pid)).toEqual([]);
    const first = pidOf(await b.request(0, ["--pid"]));
    const second = pidOf(await b.request(0, ["--pid"]));
    expect(second).toBe(first);
    expect(childPids(b.pid)).toEqual([first]);
    await b.end();
  });

  it("sends a job to an idle process and starts another while all are busy, up to --tools", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--tools", "2", "--concurrency", "4"] });
    const warm = pidOf(await b.request(9, ["--pid"]));
    const answers = [1, 2, 3].map((id) => b.response(id));
    for (const id of [1, 2, 3]) b.send({ requestId: id, arguments: ["--pid", "--sleep=600"] });
    const pids = (await Promise.all(answers)).map(pidOf);
    expect(new Set(pids).size).toBe(2);
    expect(pids).toContain(warm);
    expect(childPids(b.pid).sort()).toEqual([...new Set(pids)].sort());
    await b.end();
  });

  it("runs at most the tool's maxConcurrentJobs per process; the pool never exceeds --tools", async () => {
    const b = new BazelBridge({
      args: ["--tool", FIXTURE_TOOL, "--host", "process", "--tools", "2", "--concurrency", "6"],
      env: { FIXTURE_MAX_CONCURRENT: "2" },
    });
    const ids = [1, 2, 3, 4, 5, 6];
    const answers = ids.map((id) => b.response(id));
    for (const id of ids) b.send({ requestId: id, arguments: ["--pid", "--sleep=300", "--max-concurrent"] });
    const rs = await Promise.all(answers);
    expect(new Set(rs.map(pidOf)).size).toBe(2);
    for (const r of rs) {
      expect(r.exitCode).toBe(0);
      expect(Number(/max-concurrent=(\d+)/.exec(r.output)![1])).toBeLessThanOrEqual(2);
    }
    await b.end();
  });
});
