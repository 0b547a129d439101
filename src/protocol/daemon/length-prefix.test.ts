import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeLengthPrefixed, FrameTooLargeError, LengthPrefixedDecoder } from "./length-prefix.js";

describe("length-prefixed framing (docs/daemon.md, wire)", () => {
  it("a frame is a 4-byte big-endian length, then the payload", () => {
    expect([...encodeLengthPrefixed(new Uint8Array([7, 8, 9]))]).toEqual([0, 0, 0, 3, 7, 8, 9]);
    expect([...encodeLengthPrefixed(new Uint8Array(0))]).toEqual([0, 0, 0, 0]);
  });

  it("decodes any sequence of frames however the stream is chunked", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (payloads, cuts) => {
        const stream = Buffer.concat(payloads.map((p) => encodeLengthPrefixed(p)));
        const d = new LengthPrefixedDecoder(1024);
        const got: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          got.push(...d.push(stream.subarray(at, at + n)));
          at += n;
        }
        expect(got.map((g) => [...g])).toEqual(payloads.map((p) => [...p]));
        expect(d.bufferedBytes).toBe(0);
      }),
    );
  });

  it("a declared length over the limit is an error before the payload arrives, with its stream offset", () => {
    const d = new LengthPrefixedDecoder(10);
    expect(d.push(encodeLengthPrefixed(new Uint8Array(2)))).toHaveLength(1);
    let err: unknown;
    try {
      d.push(new Uint8Array([0, 0, 0, 11]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).message).toMatch(/frame of 11 bytes exceeds the 10-byte limit/);
    expect((err as FrameTooLargeError).offset).toBe(6);
  });

  it("a partial frame stays buffered until its last byte", () => {
    const d = new LengthPrefixedDecoder(10);
    const f = encodeLengthPrefixed(new Uint8Array([1, 2, 3]));
    expect(d.push(f.subarray(0, 6))).toEqual([]);
    expect(d.bufferedBytes).toBe(6);
    expect(d.push(f.subarray(6)).map((x) => [...x])).toEqual([[1, 2, 3]]);
  });
});
