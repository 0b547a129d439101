// The process host's channel to its tool processes (issue 14): length-prefixed binary frames on a
// socket at the child's fd 3 (src/supervisor/frame-channel.ts, tool-process-ipc.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PreparedJob } from "../../src/core/job.js";
import { FrameChannel } from "../../src/supervisor/frame-channel.js";
import { FrameWriter } from "../../src/supervisor/binary-message.js";
import { decodeJob, decodeToHost, decodeToTool, encodeRun, encodeToHost, EnvBase } from "../../src/supervisor/tool-process-ipc.js";
import { BazelBridge, killAllBridges } from "./helpers/bazel-client.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  killAllBridges();
});

/** Two connected sockets over a Unix socket in a temp directory. */
async function socketPair(): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), "wb-frames-"));
  const path = join(dir, "s");
  const server: Server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const a = connect(path);
  const b = await accepted;
  cleanups.push(() => {
    a.destroy();
    b.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return [a, b];
}

function frame(text: string): Buffer {
  return new FrameWriter().string(text).finish();
}

describe("FrameChannel", () => {
  it("delivers frames in order, coalescing the ones sent in one turn into one write, and a 20 MB frame intact", async () => {
    const [a, b] = await socketPair();
    const writes: number[] = [];
    const realWrite = a.write.bind(a);
    a.write = ((chunk: Buffer, ...rest: never[]) => {
      writes.push(chunk.length);
      return realWrite(chunk, ...rest);
    }) as typeof a.write;
    const sender = new FrameChannel(a, () => undefined, () => undefined);
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      new FrameChannel(
        b,
        (f) => {
          got.push(f.subarray(4).toString("utf8"));
          if (got.length === 11) resolve();
        },
        () => undefined,
      );
    });
    for (let i = 0; i < 10; i++) sender.send(frame(`frame ${i} é`));
    const big = "✓ large output line\n".repeat(1_000_000);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    sender.send(frame(big));
    await all;
    expect(got.slice(0, 10)).toEqual([...Array(10).keys()].map((i) => `frame ${i} é`));
    expect(got[10]!.length).toBe(big.length);
    expect(got[10] === big).toBe(true);
  });

  it("reassembles frames whose header and body arrive byte by byte", async () => {
    const [a, b] = await socketPair();
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      new FrameChannel(
        b,
        (f) => {
          got.push(f.subarray(4).toString("utf8"));
          if (got.length === 2) resolve();
        },
        () => undefined,
      );
    });
    const bytes = Buffer.concat([frame("first"), frame("second")]);
    for (const byte of bytes) {
      a.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(got).toEqual(["first", "second"]);
  });

  it("flush(done) calls back once the queued frames are written, also with nothing queued and after the socket is gone", async () => {
    const [a, b] = await socketPair();
    const received = new Promise<string>((resolve) => new FrameChannel(b, (f) => resolve(f.subarray(4).toString("utf8")), () => undefined));
    const sender = new FrameChannel(a, () => undefined, () => undefined);
    sender.send(frame("last words"));
    await new Promise<void>((resolve) => sender.flush(resolve));
    await new Promise<void>((resolve) => sender.flush(resolve));
    expect(await received).toBe("last words");
    b.destroy();
    a.destroy();
    sender.send(frame("into the void"));
    await new Promise<void>((resolve) => sender.flush(resolve));
  });

  it("reports a corrupted stream (an absurd frame length) instead of waiting for it forever", async () => {
    const [a, b] = await socketPair();
    const reason = new Promise<string>((resolve) => new FrameChannel(b, () => undefined, resolve));
    a.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(await reason).toMatch(/frame header announces 4294967295 bytes.*corrupted/);
  });
});

describe("tool-process messages", () => {
  const base = Object.freeze({ PATH: "/bin", HOME: "/home/x", KEEP: "1" });
  const job: PreparedJob = {
    id: 7,
    origin: "buck2",
    args: ["--echo=ünïcödé ✓", "", "@file"],
    inputs: [{ path: "a/b.txt", digest: Uint8Array.from([0, 1, 2, 255]) }],
    cwd: "/work/dir",
    env: { PATH: "/usr/bin", HOME: "/home/x", EXTRA: "é" },
    timeoutMs: 1500,
    verbosity: 10,
  };

  it("a run frame carries the whole job; the env arrives as a difference and is rebuilt", () => {
    const f = encodeRun(3, job, new EnvBase(base));
    const m = decodeToTool(f.subarray(4));
    if (m.t !== "run") throw new Error(`decoded ${m.t}`);
    expect(m.seq).toBe(3);
    expect(m.envSet).toEqual({ PATH: "/usr/bin", EXTRA: "é" });
    expect(m.envUnset).toEqual(["KEEP"]);
    const back = decodeJob(m, base);
    expect({ ...back, inputs: back.inputs.map((i) => ({ path: i.path, digest: [...i.digest] })) }).toEqual({
      ...job,
      inputs: [{ path: "a/b.txt", digest: [0, 1, 2, 255] }],
    });
  });

  it("a job with the start env sends no env and gets the frozen start env back; no timeout stays absent", () => {
    const envBase = new EnvBase(base);
    const same = { ...job, env: base, timeoutMs: undefined } as unknown as PreparedJob;
    for (let i = 0; i < 2; i++) {
      const m = decodeToTool(encodeRun(i, same, envBase).subarray(4));
      if (m.t !== "run") throw new Error(`decoded ${m.t}`);
      expect(m.envSet).toBeUndefined();
      expect(m.envUnset).toBeUndefined();
      expect("timeoutMs" in m).toBe(false);
      expect(decodeJob(m, base).env).toBe(base);
    }
  });

  it("answers round-trip, large non-ASCII output included; truncated frames are errors, not garbage", () => {
    const output = "ß∑ line\n".repeat(50_000);
    const f = encodeToHost({ t: "done", seq: 9, exitCode: -2, output, rss: 123456789 });
    expect(decodeToHost(f.subarray(4))).toEqual({ t: "done", seq: 9, exitCode: -2, output, rss: 123456789 });
    expect(decodeToHost(encodeToHost({ t: "init-failed", message: "boom" }).subarray(4))).toEqual({ t: "init-failed", message: "boom" });
    expect(() => decodeToHost(f.subarray(4, 40))).toThrow(RangeError);
    expect(() => decodeToHost(Buffer.from([99]))).toThrow(/unknown message type 99/);
  });
});

describe("process host end to end", () => {
  it("MBs of arguments and output cross the channel intact, both ways, request after request", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--host", "process"] });
    const text = "é✓ some output\n".repeat(300_000);
    for (let i = 0; i < 2; i++) {
      const r = await b.request(0, [`--echo=${text}${i}`]);
      expect(r.exitCode).toBe(0);
      expect(r.output.length).toBe(text.length + 1);
      expect(r.output === `${text}${i}`).toBe(true);
    }
    expect(await b.end()).toEqual({ code: 0, signal: null });
  });
});
