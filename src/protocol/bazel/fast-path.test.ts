import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkRequestSchema, WorkResponseSchema } from "../../gen/bazel/worker_protocol_pb.js";
import { decodeWorkRequestFast, encodeWorkResponseFast } from "./fast-path.js";
import { frameMessage } from "./framing.js";

// The fast path must agree with the generated protobuf-es code wherever it answers, and leave
// everything unusual to it (docs/protocol/bazel-worker.md §1.3: WorkRequest / WorkResponse).

/** What protobuf-es decodes, in the shape the bridge uses. */
function generic(body: Uint8Array) {
  const m = fromBinary(WorkRequestSchema, body, { readUnknownFields: false });
  return {
    arguments: m.arguments,
    inputs: m.inputs.map((i) => ({ path: i.path, digest: i.digest })),
    requestId: m.requestId,
    cancel: m.cancel,
    verbosity: m.verbosity,
    sandboxDir: m.sandboxDir,
  };
}

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 10 }), fc.constant(""));
const int32 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 300 }), fc.constant(0));
const request = fc.record({
  arguments: fc.array(text, { maxLength: 5 }),
  inputs: fc.array(fc.record({ path: text, digest: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 }),
  requestId: int32,
  cancel: fc.boolean(),
  verbosity: int32,
  sandboxDir: text,
});

/**
 * Decodes with both, from a Buffer as the frame decoder hands it over; the fast path may decline,
 * but when it answers it must match.
 */
function agree(bytes: Uint8Array): "fast" | "declined" {
  const body = Buffer.from(bytes);
  const fast = decodeWorkRequestFast(body);
  let expected: ReturnType<typeof generic> | Error;
  try {
    expected = generic(body);
  } catch (err) {
    expected = err as Error;
  }
  if (fast === undefined) return "declined";
  expect(expected).not.toBeInstanceOf(Error);
  expect(fast).toEqual(expected);
  return "fast";
}

describe("WorkRequest fast path agrees with protobuf-es", () => {
  it("decodes the plain requests Bazel sends, identically", () => {
    const body = toBinary(
      WorkRequestSchema,
      create(WorkRequestSchema, {
        arguments: ["--flag", "@bazel-out/k8-fastbuild/bin/pkg/a.params"],
        inputs: [
          { path: "pkg/a.ts", digest: new Uint8Array(32).fill(0xab) },
          { path: "pkg/b.ts", digest: new Uint8Array(0) },
        ],
        requestId: 7,
        verbosity: 10,
        sandboxDir: "__sandbox/3/_main",
      }),
    );
    expect(agree(body)).toBe("fast");
    expect(agree(new Uint8Array(0))).toBe("fast");
    expect(agree(toBinary(WorkRequestSchema, create(WorkRequestSchema, { requestId: 12, cancel: true })))).toBe("fast");
  });

  it("declines what it does not handle: non-ASCII text, negative ids, unknown fields, wrong wire types", () => {
    const nonAscii = toBinary(WorkRequestSchema, create(WorkRequestSchema, { arguments: ["é"] }));
    const negative = toBinary(WorkRequestSchema, create(WorkRequestSchema, { requestId: -1 }));
    const unknown = Uint8Array.from([0x3a, 0x01, 0x41]); // field 7, length-delimited
    const wrongType = Uint8Array.from([0x1a, 0x00]); // request_id as length-delimited
    const truncated = Uint8Array.from([0x0a, 0x05, 0x61]);
    for (const body of [nonAscii, negative, unknown, wrongType, truncated]) expect(agree(body)).toBe("declined");
  });

  it("matches protobuf-es on random requests (property)", () => {
    let fast = 0;
    fc.assert(
      fc.property(request, (r) => {
        if (agree(toBinary(WorkRequestSchema, create(WorkRequestSchema, r))) === "fast") fast++;
      }),
      { numRuns: 2000 },
    );
    expect(fast).toBeGreaterThan(100); // the property must exercise the fast path, not only declines
  });

  it("never disagrees on corrupted requests (property: random byte flips and cuts)", () => {
    const base = toBinary(
      WorkRequestSchema,
      create(WorkRequestSchema, { arguments: ["a", "bc"], inputs: [{ path: "x", digest: Uint8Array.of(1, 2) }], requestId: 3, sandboxDir: "s" }),
    );
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(255), fc.nat(base.length), (at, value, cut) => {
        const body = base.slice(0, Math.max(cut, at + 1));
        body[at] = value;
        agree(body);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("WorkResponse fast path writes the bytes protobuf-es writes", () => {
  const viaGeneric = (r: { exitCode: number; output: string; requestId: number; wasCancelled?: boolean }): string =>
    frameMessage(
      toBinary(
        WorkResponseSchema,
        create(WorkResponseSchema, { exitCode: r.exitCode | 0, output: r.output, requestId: r.requestId | 0, wasCancelled: r.wasCancelled === true }),
      ),
    ).toString("hex");

  it("matches on random responses (property)", () => {
    let fast = 0;
    fc.assert(
      fc.property(
        fc.record({ exitCode: int32, output: text.map((s) => s.toWellFormed()), requestId: int32, wasCancelled: fc.boolean() }),
        (r) => {
          const frame = encodeWorkResponseFast(r, r.output);
          if (frame === undefined) {
            expect(r.exitCode < 0 || r.requestId < 0).toBe(true);
            return;
          }
          fast++;
          expect(frame.toString("hex")).toBe(viaGeneric(r));
        },
      ),
      { numRuns: 2000 },
    );
    expect(fast).toBeGreaterThan(100);
  });

  it("matches for a large output (multi-byte length prefix)", () => {
    const r = { exitCode: 1, output: "ü".repeat(70_000), requestId: 2 ** 31 - 1 };
    expect(encodeWorkResponseFast(r, r.output)?.toString("hex")).toBe(viaGeneric(r));
  });
});
