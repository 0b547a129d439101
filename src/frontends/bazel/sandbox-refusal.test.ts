import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "../../core/dispatcher.js";
import type { HostResult, Job, PreparedJob, Result, ToolHost } from "../../core/job.js";
import { createLogger } from "../../core/logger.js";
import { BazelWorker } from "./bazel-worker.js";

// A sandbox_dir that climbs out of the execroot is refused like a bad argfile: through the
// dispatcher, so the refusal is logged, counted and seen by the recorder, and the tool never runs.

class CountingHost implements ToolHost {
  readonly capacity = 1;
  runs = 0;
  async run(_job: PreparedJob): Promise<HostResult> {
    this.runs++;
    return { exitCode: 0, output: "ran" };
  }
  async close(): Promise<void> {}
}

describe("a refused sandbox_dir", () => {
  it("is answered by the dispatcher: exit 2, the reason, counted, observed, the tool not run", async () => {
    const host = new CountingHost();
    const finished: { job: Job; prepared: PreparedJob | undefined; result: Result }[] = [];
    const logLines: string[] = [];
    const logger = createLogger({ level: "info", write: (line) => logLines.push(line) });
    const dispatcher = new Dispatcher(host, { concurrency: 1, logger, observer: { jobFinished: (job, prepared, result) => finished.push({ job, prepared, result }) } });
    const input = new PassThrough();
    const writes: string[] = [];
    const worker = new BazelWorker({
      format: "json",
      dispatcher,
      input,
      write: (data, cb) => {
        writes.push(Buffer.from(data).toString("utf8"));
        queueMicrotask(() => cb(null));
        return true;
      },
      cwd: "/execroot",
      logger,
      maxMessageBytes: 1 << 20,
      shutdownGraceMs: 1000,
    });
    worker.start();
    input.end(`${JSON.stringify({ requestId: 0, arguments: ["x"], sandboxDir: "../outside" })}\n`);
    expect(await worker.done).toBe(0);

    const response = JSON.parse(writes.join("")) as { exitCode: number; output: string };
    expect(response.exitCode).toBe(2);
    expect(response.output).toBe('worker-bridge: sandbox_dir "../outside" escapes the worker directory /execroot');
    expect(host.runs).toBe(0);
    expect(dispatcher.stats()).toMatchObject({ requests: 1, failures: 1 });
    expect(finished).toHaveLength(1);
    expect(finished[0]!.prepared).toBeUndefined();
    expect(finished[0]!.result.end).toBe("failed-to-start");
    expect(logLines.some((l) => l.includes("request") && l.includes("failed-to-start"))).toBe(true);
  });
});
