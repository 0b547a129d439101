import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "./dispatcher.js";
import type { HostResult, Job, PreparedJob, ToolHost } from "./job.js";
import { createLogger } from "./logger.js";

/** A host whose jobs finish when the test says so (or when aborted, if it honours aborts). */
class ScriptedHost implements ToolHost {
  readonly capacity = 100;
  readonly started: PreparedJob[] = [];
  private readonly finishers = new Map<number, (r: HostResult) => void>();
  constructor(private readonly honourAbort = true) {}
  run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    this.started.push(job);
    return new Promise((resolve) => {
      this.finishers.set(job.id, resolve);
      if (this.honourAbort) signal.addEventListener("abort", () => resolve({ exitCode: 9, output: `aborted:${String(signal.reason)}` }));
    });
  }
  finish(id: number, r: HostResult = { exitCode: 0, output: `done ${id}` }): void {
    this.finishers.get(id)?.(r);
  }
  async close(): Promise<void> {}
}

const logger = createLogger({ level: "silent" });

function job(id: number, extra: Partial<Job> = {}): Job {
  return { id, origin: "bazel", args: [], inputs: [], cwd: tmpdir(), env: {}, signal: new AbortController().signal, verbosity: 0, ...extra };
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await tick(2);
  }
}

describe("Dispatcher (design: exactly one answer, limits, timeouts, cancellation)", () => {
  it("runs at most `concurrency` jobs and starts the rest in arrival order (FIFO)", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 2, logger });
    const results = [1, 2, 3, 4].map((i) => d.submit(job(i)));
    await tick();
    expect(host.started.map((j) => j.id)).toEqual([1, 2]);
    host.finish(2);
    await tick();
    expect(host.started.map((j) => j.id)).toEqual([1, 2, 3]);
    host.finish(1);
    host.finish(3);
    await tick();
    host.finish(4);
    const all = await Promise.all(results);
    expect(all.map((r) => r.output)).toEqual(["done 1", "done 2", "done 3", "done 4"]);
    expect(all.every((r) => r.end === "completed")).toBe(true);
  });

  it("overlays the request env on the base env per job without leaking between jobs", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 4, logger, baseEnv: { BASE: "1", SHARED: "base" } });
    const a = d.submit(job(1, { env: { SHARED: "a", ONLY_A: "x" } }));
    const b = d.submit(job(2, { env: {} }));
    await tick();
    expect(host.started[0]!.env).toEqual({ BASE: "1", SHARED: "a", ONLY_A: "x" });
    expect(host.started[1]!.env).toEqual({ BASE: "1", SHARED: "base" });
    host.finish(1);
    host.finish(2);
    await Promise.all([a, b]);
  });

  it("expands argfiles before the host sees the job, and a missing argfile is an answer, not a crash", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "disp-"));
    writeFileSync(join(cwd, "p.args"), "--echo=x\n@@y\n");
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ok = d.submit(job(1, { cwd, args: ["@p.args"] }));
    await until(() => host.started.length === 1);
    expect(host.started[0]!.args).toEqual(["--echo=x", "@y"]);
    host.finish(1);
    await ok;
    const bad = await d.submit(job(2, { cwd, args: ["@nope.args"] }));
    expect(bad.exitCode).toBe(2);
    expect(bad.end).toBe("failed-to-start");
    expect(bad.output).toMatch(/cannot read argfile @nope\.args/);
    rmSync(cwd, { recursive: true, force: true });
  });

  it("times a job out, aborts it, and answers with a non-zero exit and a note", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const r = await d.submit(job(1, { timeoutMs: 30 }));
    expect(r.end).toBe("timed-out");
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/timed out after 0\.030s/);
  });

  it("cancels a running job through its signal", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ac = new AbortController();
    const p = d.submit(job(1, { signal: ac.signal }));
    await tick();
    ac.abort(new Error("cancel"));
    const r = await p;
    expect(r.end).toBe("cancelled");
    expect(r.output).toMatch(/aborted/);
  });

  it("cancels a queued job without starting it, and frees nothing it did not take", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const first = d.submit(job(1));
    const ac = new AbortController();
    const queued = d.submit(job(2, { signal: ac.signal }));
    await tick();
    ac.abort();
    const r = await queued;
    expect(r.end).toBe("cancelled");
    expect(r.output).toMatch(/cancelled while queued/);
    expect(host.started.map((j) => j.id)).toEqual([1]);
    const third = d.submit(job(3));
    host.finish(1);
    await tick();
    expect(host.started.map((j) => j.id)).toEqual([1, 3]);
    host.finish(3);
    await Promise.all([first, third]);
  });

  it("answers anyway when a host ignores the abort (backstop), so the protocol never hangs", async () => {
    const host = new ScriptedHost(false);
    const d = new Dispatcher(host, { concurrency: 1, logger, abortGraceMs: 20 });
    const r = await d.submit(job(1, { timeoutMs: 10 }));
    expect(r.end).toBe("timed-out");
    expect(r.output).toMatch(/did not stop within 20 ms/);
  });

  it("never rejects, even when the host throws", async () => {
    const host: ToolHost = { capacity: 1, run: () => Promise.reject(new Error("boom")), close: async () => {} };
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const r = await d.submit(job(1));
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/the tool host failed: Error: boom\n\s+at /);
  });

  it("close(grace) lets running jobs finish within the grace, then aborts the rest", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const running = d.submit(job(1));
    const queued = d.submit(job(2));
    await tick();
    setTimeout(() => host.finish(1), 10);
    await d.close(200);
    expect((await running).end).toBe("completed");
    expect((await queued).end).toBe("cancelled");
    // the answer says why: not the client's cancel, our shutdown
    expect((await queued).output).toBe("worker-bridge: request 2 was not run: the worker is shutting down");
    const late = d.submit(job(3));
    expect((await late).end).toBe("cancelled");
    expect((await late).output).toMatch(/shutting down/);
  });

  it("counts requests, failures and percentiles", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 2, logger });
    const a = d.submit(job(1));
    const b = d.submit(job(2));
    await tick();
    host.finish(1);
    host.finish(2, { exitCode: 3, output: "" });
    await Promise.all([a, b]);
    const s = d.stats();
    expect(s.requests).toBe(2);
    expect(s.failures).toBe(1);
    expect(s.p50Ms).toBeGreaterThan(0);
  });
});
