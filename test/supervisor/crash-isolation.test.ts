// Crash isolation and crash-loop detection, driven through the Bazel front door (proto).
import { afterEach, describe, expect, it } from "vitest";
import { startMarker } from "../support/job-started.js";
import { BazelBridge, FIXTURE_TOOL, isAlive, killAllBridges, pidOf } from "./helpers/bazel-client.js";

afterEach(() => killAllBridges());

describe("crash isolation (issue 4 §3; docs/lessons.md §6 #6)", () => {
  it("a process that exits mid-request fails only its request, naming the exit code; others finish; it is replaced", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process", "--tools", "2", "--concurrency", "2"] });
    const survivor = b.response(1);
    const running = startMarker();
    b.send({ requestId: 1, arguments: ["--pid", running.arg, "--sleep=1500", "--echo=survived"] });
    // Request 1 runs in its own process first, so the crash happens on the other one.
    await running.reached();
    const crashed = await b.request(2, ["--pid", "--crash"]);
    expect(crashed.exitCode).toBe(70);
    expect(crashed.output).toMatch(/tool process \d+ \(probe\) exited with code 70 while running request 2; its stderr was empty/);
    const ok = await survivor;
    expect(ok.exitCode).toBe(0);
    expect(ok.output).toContain("survived");
    const next = await b.request(3, ["--pid"]);
    expect(next.exitCode).toBe(0);
    expect(isAlive(pidOf(next))).toBe(true);
    expect(await b.end()).toEqual({ code: 0, signal: null });
  });

  it("death by signal is reported with the signal name, 128+N and the last lines of the process's stderr", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process"] });
    const r = await b.request(0, ["--raw-stderr=first words", "--raw-stderr=last words", "--signal=SIGTERM"]);
    expect(r.exitCode).toBe(128 + 15);
    expect(r.output).toMatch(/was killed by signal SIGTERM while running request 0; last lines of its stderr:\n  first words\n  last words/);
    expect((await b.request(0, ["--pid"])).exitCode).toBe(0);
    await b.end();
  });

  it("running out of memory is reported as such, and the bridge keeps answering", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process"], nodeArgs: ["--max-old-space-size=48"] });
    const r = await b.request(0, ["--oom"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/ran out of memory/);
    expect(r.output).toMatch(/heap/i);
    expect((await b.request(0, ["--pid"])).exitCode).toBe(0);
    await b.end();
  });
});

describe("crash loops (issue 4 §3: K crashes in T seconds give a clear error, not a respawn loop)", () => {
  it("after 5 failed starts, requests are answered at once with the crash-loop error and no new process", async () => {
    const b = new BazelBridge({ args: ["--tool", FIXTURE_TOOL, "--host", "process", "--fail-init", "--log-level", "debug"] });
    for (let i = 0; i < 5; i++) {
      const r = await b.request(i, ["--pid"]);
      expect(r.exitCode).not.toBe(0);
      expect(r.output).toMatch(/tool fixture failed to initialise in process \d+:\n.*init refused on purpose/);
    }
    const r = await b.request(9, ["--pid"]);
    expect(r.exitCode).toBe(1);
    expect(r.output).toMatch(/crashed 5 times within 60s \(last: init failed: Error: fixture: init refused on purpose\), so worker-bridge stopped restarting it/);
    await b.end();
    // Five starts, then none: the sixth request was answered without spawning.
    expect(b.stderr.match(/tool process started/g)).toHaveLength(5);
    expect(b.stderr).toMatch(/tool processes are crash-looping; not restarting them for now/);
    expect(b.stderr).toMatch(/summary .*crashes=5/);
  });
});
