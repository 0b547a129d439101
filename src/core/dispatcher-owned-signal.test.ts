import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "./dispatcher.js";
import type { HostResult, Job, PreparedJob, ToolHost } from "./job.js";
import { createLogger } from "./logger.js";

// submit(job, owner): a front door may hand over the AbortController behind job.signal so the
// dispatcher need not create and chain a second one per job. These tests pin that the Result is
// the same either way (design: exactly one answer; timeouts, cancellation and shutdown).

/** Finishes a job when told, or when its signal aborts; remembers the signal each job got. */
class ScriptedHost implements ToolHost {
  readonly capacity = 100;
  readonly signals = new Map<number, AbortSignal>();
  private readonly finishers = new Map<number, (r: HostResult) => void>();
  run(job: PreparedJob, signal: AbortSignal): Promise<HostResult> {
    this.signals.set(job.id, signal);
    return new Promise((resolve) => {
      this.finishers.set(job.id, resolve);
      signal.addEventListener("abort", () => resolve({ exitCode: 9, output: `aborted:${String(signal.reason)}` }));
    });
  }
  finish(id: number): void {
    this.finishers.get(id)?.({ exitCode: 0, output: `done ${id}` });
  }
  async close(): Promise<void> {}
}

const logger = createLogger({ level: "silent" });

function job(id: number, signal: AbortSignal, extra: Partial<Job> = {}): Job {
  return { id, origin: "bazel", args: [], inputs: [], cwd: tmpdir(), env: {}, signal, verbosity: 0, ...extra };
}

const until = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
};

type Mode = "owned" | "not owned";
const submitIn = (mode: Mode, d: Dispatcher, j: Job, ac: AbortController) => (mode === "owned" ? d.submit(j, ac) : d.submit(j));

describe.each<Mode>(["owned", "not owned"])("Dispatcher.submit with the job's controller %s (design: exactly one answer)", (mode) => {
  it("a completed job answers with the host's result", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ac = new AbortController();
    const p = submitIn(mode, d, job(1, ac.signal), ac);
    await until(() => host.signals.has(1));
    host.finish(1);
    const r = await p;
    expect([r.exitCode, r.output, r.end]).toEqual([0, "done 1", "completed"]);
    expect(ac.signal.aborted).toBe(false);
    // Owned: the host gets the job's own signal; not owned: a private one that follows it.
    expect(host.signals.get(1) === ac.signal).toBe(mode === "owned");
  });

  it("a timeout aborts the host and answers timed-out with a note", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ac = new AbortController();
    const r = await submitIn(mode, d, job(1, ac.signal, { timeoutMs: 20 }), ac);
    expect(r.end).toBe("timed-out");
    expect(r.exitCode).toBe(9);
    expect(r.output).toMatch(/timed out after 0\.020s/);
    expect(r.output).not.toMatch(/shutting down/);
  });

  it("a client cancel answers cancelled, without the shutdown note", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ac = new AbortController();
    const p = submitIn(mode, d, job(1, ac.signal), ac);
    await until(() => host.signals.has(1));
    ac.abort(new Error("cancel"));
    const r = await p;
    expect(r.end).toBe("cancelled");
    expect(r.output).toMatch(/aborted:Error: cancel/);
    expect(r.output).not.toMatch(/shutting down/);
  });

  it("shutdown aborts a running job and says so in its output", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const ac = new AbortController();
    const p = submitIn(mode, d, job(1, ac.signal), ac);
    await until(() => host.signals.has(1));
    await d.close(0);
    const r = await p;
    expect(r.end).toBe("cancelled");
    expect(r.exitCode).toBe(9);
    expect(r.output).toMatch(/was aborted because the worker is shutting down/);
  });
});

describe("Dispatcher.submit owner (design: exactly one answer)", () => {
  it("ignores an owner whose signal is not the job's: the dispatcher never aborts a controller it was not given", async () => {
    const host = new ScriptedHost();
    const d = new Dispatcher(host, { concurrency: 1, logger });
    const unrelated = new AbortController();
    const r = await d.submit(job(1, new AbortController().signal, { timeoutMs: 20 }), unrelated);
    expect(r.end).toBe("timed-out");
    expect(unrelated.signal.aborted).toBe(false);
  });
});
