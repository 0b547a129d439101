// The process and thread hosts follow a job's abort switch without making an AbortSignal in the
// bridge (docs/supervisor.md, "Cancellation, timeouts and hard cancel"): a job nobody aborts never
// reads the switch's signal, and an abort still reaches the tool, whose ctx.signal fires there.
import { afterEach, describe, expect, it } from "vitest";
import type { PreparedJob } from "../../src/core/job.js";
import { JobAbort } from "../../src/core/job-abort.js";
import { createLogger } from "../../src/core/logger.js";
import type { ProcessHost } from "../../src/supervisor/process-host.js";
import { startMarker } from "../support/job-started.js";

// The built hosts (npm test builds first): their workers start from dist/, as in a real bridge.
const dist = (path: string): string => new URL(`../../dist/${path}`, import.meta.url).href;
const { ProcessHost: ProcessHostClass } = (await import(dist("supervisor/process-host.js"))) as typeof import("../../src/supervisor/process-host.js");
const { ThreadHost } = (await import(dist("supervisor/thread-host.js"))) as typeof import("../../src/supervisor/thread-host.js");
const { loadTool, resolveToolModule } = (await import(dist("tools/load-tool.js"))) as typeof import("../../src/tools/load-tool.js");

/** A switch that counts how often its AbortSignal is asked for. */
class CountingAbort extends JobAbort {
  signalReads = 0;
  override get signal(): AbortSignal {
    this.signalReads++;
    return super.signal;
  }
}

function job(id: number, args: string[]): PreparedJob {
  return { id, origin: "bazel", args, inputs: [], cwd: process.cwd(), env: Object.freeze({ ...process.env }) as Record<string, string>, verbosity: 0 };
}

const hosts: ProcessHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

describe.each([
  ["process", ProcessHostClass],
  ["thread", ThreadHost],
] as const)("--host=%s: the job's abort switch", (_name, Host) => {
  async function host(): Promise<ProcessHost> {
    const toolModule = resolveToolModule("probe", process.cwd());
    const h = new Host({
      toolModule,
      tool: await loadTool(toolModule),
      startupArgs: [],
      concurrency: 2,
      toolProcesses: 1,
      abortGraceMs: 10_000,
      logger: createLogger({ level: "error", write: () => {} }),
    });
    hosts.push(h);
    return h;
  }

  it("a job nobody aborts never reads the switch's signal", async () => {
    const h = await host();
    for (let id = 1; id <= 3; id++) {
      const abort = new CountingAbort();
      const r = await h.runWithSignalOnDemand(job(id, ["--echo=hi"]), abort);
      expect(r.exitCode).toBe(0);
      expect(r.output).toContain("hi");
      expect(abort.signalReads).toBe(0);
    }
  });

  it("an abort through the switch reaches the tool's ctx.signal, with its reason, without the bridge reading the signal", async () => {
    const h = await host();
    const abort = new CountingAbort();
    const running = startMarker();
    const answer = h.runWithSignalOnDemand(job(1, [running.arg, "--hang"]), abort);
    await running.reached();
    abort.abort(new Error("stop now"));
    const r = await answer;
    expect(r.output).toMatch(/aborted during --hang: Error: stop now/);
    expect(abort.signalReads).toBe(0);
    // The worker survived: the next job runs on it.
    expect((await h.runWithSignalOnDemand(job(2, ["--echo=after"]), new CountingAbort())).output).toContain("after");
    expect(h.stats().processesStarted).toBe(1);
  });

  it("a switch aborted before the job starts answers without running it", async () => {
    const h = await host();
    const abort = new CountingAbort();
    abort.abort(new Error("too late"));
    const r = await h.runWithSignalOnDemand(job(1, ["--echo=never"]), abort);
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/aborted before a tool process took it/);
    expect(abort.signalReads).toBe(0);
  });
});
