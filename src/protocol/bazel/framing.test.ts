import { describe, expect, it } from "vitest";
import { ProtocolError } from "./protocol-error.js";
import { encodeVarint32, FrameDecoder, frameMessage } from "./framing.js";

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) for (const f of decoder.push(c)) out.push(Uint8Array.from(f.body));
  decoder.end();
  return out;
}

describe("varint (docs/protocol/bazel-worker.md §2.1: base-128 varint length)", () => {
  it("encodes lengths like protobuf's writeDelimitedTo", () => {
    expect([...encodeVarint32(0)]).toEqual([0x00]);
    expect([...encodeVarint32(1)]).toEqual([0x01]);
    expect([...encodeVarint32(127)]).toEqual([0x7f]);
    expect([...encodeVarint32(128)]).toEqual([0x80, 0x01]);
    expect([...encodeVarint32(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint32(594)]).toEqual([0xd2, 0x04]); // the "typical request" in §2.1
    expect([...encodeVarint32(0xffffffff)]).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });
});

describe("FrameDecoder (§2.1 framing: any chunking)", () => {
  const messages = [bytes(0), bytes(1), bytes(127), bytes(128, 7), bytes(300, 3), bytes(70_000, 9)];
  const stream = Buffer.concat(messages.map((m) => frameMessage(m)));

  it("decodes many frames delivered in one chunk", () => {
    expect(decodeAll(new FrameDecoder(), [stream])).toEqual(messages);
  });

  it("decodes identically when the stream is split at every byte boundary (small frames)", () => {
    const small = Buffer.concat(messages.slice(0, 5).map((m) => frameMessage(m)));
    for (let cut = 0; cut <= small.length; cut++) {
      const got = decodeAll(new FrameDecoder(), [small.subarray(0, cut), small.subarray(cut)]);
      expect(got, `cut at ${cut}`).toEqual(messages.slice(0, 5));
    }
  });

  it("decodes a stream fed one byte at a time, with the varint split across chunks", () => {
    const single = [...stream.subarray(0, 2000)].map((b) => Uint8Array.of(b));
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (const c of single) for (const f of decoder.push(c)) got.push(Uint8Array.from(f.body));
    // 2000 bytes hold the first five frames completely (0, 1, 127, 128, 300 bytes + headers).
    expect(got).toEqual(messages.slice(0, 5));
  });

  it("handles the split varint that @bazel/worker gets wrong (0xAC | 0x02 -> 300, docs/lessons.md §2.1)", () => {
    const frame = frameMessage(bytes(300));
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 1))).toEqual([]);
    expect(decoder.push(frame.subarray(1, 299))).toEqual([]);
    // 3 bytes short of complete: must not hand out a truncated message
    expect(decoder.push(frame.subarray(299, 300))).toEqual([]);
    const frames = decoder.push(frame.subarray(300));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.body.length).toBe(300);
  });

  it("reports frame offsets in the stream", () => {
    const decoder = new FrameDecoder();
    const frames = decoder.push(stream);
    let offset = 0;
    for (const [i, m] of messages.entries()) {
      expect(frames[i]!.offset).toBe(offset);
      offset += encodeVarint32(m.length).length + m.length;
    }
  });

  it("reports 'truncated frame at end of input' instead of waiting", () => {
    const frame = frameMessage(bytes(50));
    const decoder = new FrameDecoder();
    decoder.push(frame.subarray(0, 20));
    expect(() => decoder.end()).toThrow(/truncated frame at end of input: got 20 of 51 byte/);
    const partialVarint = new FrameDecoder();
    partialVarint.push(Uint8Array.of(0x80));
    expect(() => partialVarint.end()).toThrow(/unfinished length prefix/);
  });

  it("rejects a frame over the configured maximum with a clear error naming the limit and offset", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    const ok = frameMessage(bytes(10));
    const big = frameMessage(bytes(2000));
    const frames = decoder.push(Buffer.concat([ok, big]));
    // the good frame ahead of the bad one is still delivered
    expect(frames).toHaveLength(1);
    let error: unknown;
    try {
      decoder.push(Uint8Array.of(0));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("frame-too-large");
    expect((error as ProtocolError).message).toMatch(/2000 bytes exceeds the 1024-byte limit.*offset 11/);
  });

  it("detects an oversized frame from its header alone, without buffering the body", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    expect(() => decoder.push(encodeVarint32(1 << 30))).toThrow(ProtocolError);
  });

  it("rejects a length prefix longer than 10 bytes", () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(new Uint8Array(11).fill(0x80))).toThrow(/frame|length prefix/);
  });

  it("stays failed after an error: a length-prefixed stream cannot resynchronise", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 4 });
    expect(() => decoder.push(frameMessage(bytes(5)))).toThrow(ProtocolError);
    expect(() => decoder.push(frameMessage(bytes(1)))).toThrow(ProtocolError);
  });

  it("copies a large frame arriving in many chunks only when it is complete", () => {
    const body = bytes(1_500_000, 5);
    const frame = frameMessage(body);
    const decoder = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < frame.length; i += 65_536) {
      for (const f of decoder.push(frame.subarray(i, i + 65_536))) got.push(f.body);
    }
    expect(got).toHaveLength(1);
    expect(Buffer.compare(Buffer.from(got[0]!), Buffer.from(body))).toBe(0);
  });
});
