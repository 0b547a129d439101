import { PassThrough } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Dispatcher } from "../../core/dispatcher.js";
import type { HostResult, PreparedJob, ToolHost } from "../../core/job.js";
import { createLogger } from "../../core/logger.js";
import { WorkRequestSchema, WorkResponseSchema } from "../../gen/bazel/worker_protocol_pb.js";
import { FrameDecoder, frameMessage } from "../../protocol/bazel/framing.js";
import { BazelWorker } from "./bazel-worker.js";

// Multiplex workers must write responses atomically (docs/protocol/bazel-worker.md, "Multiplex workers
// must write responses atomically"). The front door may put several complete responses in one
// write; these tests pin that every response stays whole, in completion order, exactly once.

/** Answers each job with its first argument as output, after `delayMs` when given. */
class EchoHost implements ToolHost {
  readonly capacity = 100;
  async run(job: PreparedJob): Promise<HostResult> {
    const delay = Number(job.args[1] ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return { exitCode: 0, output: job.args[0] ?? "" };
  }
  async close(): Promise<void> {}
}

const logger = createLogger({ level: "silent" });

function start() {
  const dispatcher = new Dispatcher(new EchoHost(), { concurrency: 8, logger });
  const input = new PassThrough();
  const writes: Buffer[] = [];
  const worker = new BazelWorker({
    format: "proto",
    dispatcher,
    input,
    write: (data, cb) => {
      writes.push(Buffer.from(data));
      queueMicrotask(() => cb(null));
      return true;
    },
    cwd: process.cwd(),
    logger,
    maxMessageBytes: 1 << 20,
    shutdownGraceMs: 1000,
  });
  worker.start();
  const responses = () => {
    const frames = new FrameDecoder().push(Buffer.concat(writes));
    return frames.map((f) => fromBinary(WorkResponseSchema, f.body));
  };
  return { input, writes, responses, worker };
}

const request = (requestId: number, args: string[]) => frameMessage(toBinary(WorkRequestSchema, create(WorkRequestSchema, { requestId, arguments: args })));

const until = async (cond: () => boolean): Promise<void> => {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe("Bazel front door write batching (docs/protocol/bazel-worker.md: multiplex responses are atomic)", () => {
  it("responses that complete together leave in one write, each whole and answered once", async () => {
    const w = start();
    w.input.write(Buffer.concat([request(1, ["one"]), request(2, ["two"]), request(3, ["three"])]));
    await until(() => w.responses().length === 3);
    expect(w.writes).toHaveLength(1);
    expect(w.responses().map((r) => [r.requestId, r.output, r.exitCode])).toEqual([
      [1, "one", 0],
      [2, "two", 0],
      [3, "three", 0],
    ]);
    w.input.end();
    expect(await w.worker.done).toBe(0);
    expect(w.responses()).toHaveLength(3);
  });

  it("responses that complete at different times leave in separate writes, in completion order", async () => {
    const w = start();
    w.input.write(Buffer.concat([request(1, ["slow", "60"]), request(2, ["fast"])]));
    await until(() => w.responses().length === 2);
    expect(w.writes).toHaveLength(2);
    expect(w.responses().map((r) => r.requestId)).toEqual([2, 1]);
    w.input.end();
    await w.worker.done;
  });

  it("a response completing as stdin ends is still written before the worker is done", async () => {
    const w = start();
    w.input.write(request(0, ["last"]));
    w.input.end();
    expect(await w.worker.done).toBe(0);
    // EOF aborts running requests (spec: the client is going away), but every accepted request is answered once.
    expect(w.responses().map((r) => r.requestId)).toEqual([0]);
  });
});
