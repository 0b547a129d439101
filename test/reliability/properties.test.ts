// Property-based tests for the three parsers that see untrusted bytes: the varint frame decoder,
// the JSON value splitter (docs/protocol/bazel-worker.md §2.1, §2.2) and argfile expansion (docs/protocol/bazel-worker.md §3.3).
// Each property runs a bounded number of cases (~1–2 s) so the suite stays lean on a 2-core box.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createCodec } from "../../src/protocol/bazel/codec.js";
import { ArgfileError, expandArgfiles } from "../../src/core/argfile.js";
import type { WorkRequestData } from "../../src/protocol/bazel/messages.js";
import { ProtocolError } from "../../src/protocol/bazel/protocol-error.js";
import { FrameDecoder } from "../../src/protocol/bazel/framing.js";
import { JsonValueSplitter } from "../../src/protocol/bazel/json-splitter.js";
import { encodeWorkRequest, frame } from "../support/bazel-client/index.js";

const RUNS = 300;

/** Cuts `bytes` at the given points (taken modulo its length); may yield empty chunks on purpose. */
function chunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

interface Outcome<T> {
  items: T[];
  error: ProtocolError | undefined;
}

/**
 * Drives a push/end decoder the way the Bazel loop does (push every chunk, probe with an empty
 * push after a chunk that produced items, end at EOF) and records what it produced. Anything
 * thrown that is not a ProtocolError fails the property; an error must be sticky.
 */
function drive<T>(decoder: { push(c: Uint8Array): T[]; end(): void }, chunks: readonly Uint8Array[]): Outcome<T> {
  const items: T[] = [];
  const call = (fn: () => void): ProtocolError | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw new Error(`non-ProtocolError escaped: ${String(err)}`);
      return err;
    }
  };
  for (const c of chunks) {
    const error = call(() => {
      const got = decoder.push(c);
      items.push(...got);
      if (got.length > 0) decoder.push(new Uint8Array(0));
    });
    if (error) {
      // Sticky: the stream cannot resynchronise, so every later call reports the same failure.
      const again = call(() => decoder.push(new Uint8Array([1, 2, 3])));
      expect(again?.message).toBe(error.message);
      return { items, error };
    }
  }
  return { items, error: call(() => decoder.end()) };
}

const chunkCuts = fc.array(fc.nat({ max: 100_000 }), { maxLength: 40 });

describe("FrameDecoder properties (docs/protocol/bazel-worker.md §2.1: a message or its varint can be split anywhere)", () => {
  const bodies = fc.array(
    fc.oneof(
      { weight: 5, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      // Bodies of 128+ bytes need a 2-byte varint; 16 KiB+ a 3-byte one.
      { weight: 1, arbitrary: fc.integer({ min: 120, max: 20_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
    ),
    { maxLength: 12 },
  );

  it("300 random frame streams (1–3-byte varints) × random chunkings: identical frames, bodies and offsets", () => {
    fc.assert(
      fc.property(bodies, chunkCuts, (msgs, cuts) => {
        const framed = msgs.map((m) => frame(m));
        const stream = concat(framed);
        const { items, error } = drive(new FrameDecoder(), chunk(stream, cuts));
        expect(error).toBeUndefined();
        expect(items.map((f) => Buffer.from(f.body).toString("hex"))).toEqual(msgs.map((m) => Buffer.from(m).toString("hex")));
        let offset = 0;
        items.forEach((f, i) => {
          expect(f.offset).toBe(offset);
          offset += framed[i]!.length;
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("300 random byte strings × random chunkings: only ProtocolError, sticky, and the same outcome for every chunking", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), chunkCuts, fc.integer({ min: 1, max: 4096 }), (bytes, cuts, max) => {
        const whole = drive(new FrameDecoder({ maxFrameBytes: max }), [bytes]);
        const split = drive(new FrameDecoder({ maxFrameBytes: max }), chunk(bytes, cuts));
        expect(split.items.map((f) => [f.offset, Buffer.from(f.body).toString("hex")])).toEqual(
          whole.items.map((f) => [f.offset, Buffer.from(f.body).toString("hex")]),
        );
        expect(split.error?.code).toBe(whole.error?.code);
        // Every byte is accounted for: frames decoded, or one error naming where decoding stopped.
        if (whole.error) expect(whole.error.offset).toBeGreaterThanOrEqual(0);
        else expect(whole.items.reduce((n, f) => n + f.body.length, 0)).toBeLessThanOrEqual(bytes.length);
      }),
      { numRuns: RUNS },
    );
  });

  it("300 over-limit length prefixes, randomly split: 'frame-too-large' naming --max-message-mb", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1 << 24 }), chunkCuts, (max, extra, cuts) => {
        const length = max + extra;
        const prefix: number[] = [];
        let v = length;
        while (v > 0x7f) {
          prefix.push((v & 0x7f) | 0x80);
          v = Math.floor(v / 128);
        }
        prefix.push(v);
        const { items, error } = drive(new FrameDecoder({ maxFrameBytes: max }), chunk(Uint8Array.from(prefix), cuts));
        expect(items).toEqual([]);
        expect(error?.code).toBe("frame-too-large");
        expect(error?.message).toContain("--max-message-mb");
      }),
      { numRuns: RUNS },
    );
  });
});

/** A WorkRequest-shaped JSON object with adversarial strings (braces, quotes, escapes, non-ASCII). */
const nastyString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: fc.constantFrom("{", "}", "[", "]", '"', "\\", "=", "é", "\u2028", " ", "\n"), maxLength: 20 }),
);
const jsonRequest = fc.record(
  {
    arguments: fc.array(nastyString, { maxLength: 6 }),
    requestId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    cancel: fc.boolean(),
    verbosity: fc.integer({ min: 0, max: 10 }),
    sandboxDir: nastyString,
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
/** Separators Bazel and remote executors actually use: none (4.2.3), \n (5.0+), arbitrary whitespace. */
const separator = fc.constantFrom("", "\n", "\r\n", " ", "\t \n ");

/** Gson's HTML-safe escaping (docs/protocol/bazel-worker.md §2.2), applied to a compact JSON text. */
function gsonEscape(text: string): string {
  return text.replace(/[=<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

describe("JsonValueSplitter properties (docs/protocol/bazel-worker.md §2.2: values back to back, any whitespace, any chunking)", () => {
  it("300 random WorkRequest JSON streams (Gson escapes, braces/quotes/backslashes in strings, every separator) × random chunkings: identical values", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(jsonRequest, separator), { maxLength: 8 }), fc.boolean(), chunkCuts, (values, escape, cuts) => {
        const texts = values.map(([v, sep]) => {
          const t = JSON.stringify(v);
          return (escape ? gsonEscape(t) : t) + sep;
        });
        const stream = Buffer.from(texts.join(""), "utf8");
        const { items, error } = drive(new JsonValueSplitter(), chunk(stream, cuts));
        expect(error).toBeUndefined();
        expect(items.map((v) => JSON.parse(v.text) as unknown)).toEqual(values.map(([v]) => JSON.parse(JSON.stringify(v)) as unknown));
      }),
      { numRuns: RUNS },
    );
  });

  it("300 random byte strings × random chunkings: only ProtocolError, sticky, and the same outcome for every chunking", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // Mostly-JSON alphabets reach the deep states (inside strings, escapes, nested brackets).
      fc.string({ unit: fc.constantFrom("{", "}", "[", "]", '"', "\\", "a", " ", "\n", ":", ","), maxLength: 200 }).map((s) =>
        Buffer.from(s, "utf8"),
      ),
    );
    fc.assert(
      fc.property(bytes, chunkCuts, fc.integer({ min: 1, max: 300 }), (input, cuts, max) => {
        const whole = drive(new JsonValueSplitter({ maxValueBytes: max }), [input]);
        const split = drive(new JsonValueSplitter({ maxValueBytes: max }), chunk(input, cuts));
        expect(split.items).toEqual(whole.items);
        expect(split.error?.code).toBe(whole.error?.code);
      }),
      { numRuns: RUNS },
    );
  });
});

/** One random corruption of a valid stream: flip, insert, delete, truncate or splice garbage. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(bytes: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === "flip" && b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
    else if (m.op === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.op === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
    else if (m.op === "truncate") b = b.subarray(0, at);
  }
  return b;
}

function assertValidRequest(r: WorkRequestData): void {
  expect(Array.isArray(r.arguments)).toBe(true);
  for (const a of r.arguments) expect(typeof a).toBe("string");
  expect(Number.isInteger(r.requestId)).toBe(true);
  expect(typeof r.cancel).toBe("boolean");
  expect(typeof r.sandboxDir).toBe("string");
  for (const i of r.inputs) {
    expect(typeof i.path).toBe("string");
    expect(i.digest).toBeInstanceOf(Uint8Array);
  }
}

describe("WorkRequest codecs on mutated streams: valid requests, then at most one clear error", () => {
  const protoRequests = fc.array(
    fc.record({
      arguments: fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      requestId: fc.integer({ min: 0, max: 1000 }),
      inputs: fc.array(fc.record({ path: fc.string({ maxLength: 20 }), digest: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 6 },
  );

  it("300 proto streams with 1–3 random mutations (flip, insert, delete, truncate) × random chunkings: every decoded request well-formed, anything else one sticky ProtocolError", () => {
    fc.assert(
      fc.property(protoRequests, fc.array(mutation, { minLength: 1, maxLength: 3 }), chunkCuts, (reqs, muts, cuts) => {
        const stream = concat(reqs.map((r) => frame(encodeWorkRequest(r))));
        const bad = mutate(stream, muts);
        const { items, error } = drive(createCodec("proto", 1 << 20), chunk(bad, cuts));
        items.forEach(assertValidRequest);
        if (error) expect(error.message.length).toBeGreaterThan(10);
      }),
      { numRuns: RUNS },
    );
  });

  it("300 JSON streams with 1–3 random mutations × random chunkings: every decoded request well-formed, anything else one sticky ProtocolError", () => {
    fc.assert(
      fc.property(fc.array(jsonRequest, { minLength: 1, maxLength: 6 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), chunkCuts, (reqs, muts, cuts) => {
        const stream = Buffer.from(reqs.map((r) => JSON.stringify(r)).join("\n"), "utf8");
        const bad = mutate(stream, muts);
        const { items, error } = drive(createCodec("json", 1 << 20), chunk(bad, cuts));
        items.forEach(assertValidRequest);
        if (error) expect(error.message.length).toBeGreaterThan(10);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("expandArgfiles properties (docs/protocol/bazel-worker.md §3.3: one line is one argument, recursively)", () => {
  /** Lines that are plain arguments: no line breaks, and not starting with '@' or a flagfile flag. */
  const plainLine = fc
    .string({ unit: "grapheme", maxLength: 16 })
    .filter((s) => !/[\r\n]/.test(s) && !s.startsWith("@") && !/^--?flagfile=/.test(s));
  const lineBreak = fc.constantFrom("\n", "\r\n", "\r");

  function memoryFs(files: Record<string, Uint8Array | string>): (p: string) => Promise<Uint8Array> {
    return async (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return typeof f === "string" ? Buffer.from(f, "utf8") : f;
    };
  }

  it("300 random argfiles (\\n, \\r\\n, \\r; trailing newline or not): expand(['@f']) equals its lines", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plainLine, { maxLength: 10 }), lineBreak, fc.boolean(), async (lines, br, trailing) => {
        const text = lines.join(br) + (trailing && lines.length > 0 ? br : "");
        const got = await expandArgfiles(["@f.args"], { cwd: "/w", readFile: memoryFs({ "/w/f.args": text }) });
        // An empty last line is dropped exactly as Java readAllLines drops a trailing newline.
        const expected = !trailing && lines.length > 0 && lines[lines.length - 1] === "" ? lines.slice(0, -1) : lines;
        expect(got).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it("150 random chains of up to 20 nested argfiles: the flattened lines, in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(plainLine.filter((s) => s !== ""), { maxLength: 4 }), { minLength: 1, maxLength: 20 }), async (levels) => {
        const files: Record<string, string> = {};
        levels.forEach((lines, i) => {
          const next = i + 1 < levels.length ? [`@d${i + 1}.args`] : [];
          files[`/w/d${i}.args`] = [...lines, ...next].join("\n");
        });
        const got = await expandArgfiles(["first", "@d0.args", "last"], { cwd: "/w", readFile: memoryFs(files) });
        expect(got).toEqual(["first", ...levels.flat(), "last"]);
      }),
      { numRuns: 150 },
    );
  });

  it("300 random argfile trees (missing, binary, cycles, depth limits 1–6): a result or one ArgfileError naming a path", async () => {
    const names = ["a", "b", "c", "d", "missing"];
    const content = fc.oneof(
      fc.array(fc.oneof(plainLine, fc.constantFrom(...names).map((n) => `@${n}`), fc.constantFrom(...names).map((n) => `--flagfile=${n}`)), { maxLength: 5 }).map(
        (l) => Buffer.from(l.join("\n"), "utf8"),
      ),
      fc.uint8Array({ maxLength: 40 }), // binary, invalid UTF-8, NULs
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ a: content, b: content, c: content, d: content }),
        fc.array(fc.constantFrom("@a", "@b", "@c", "@d", "@missing", "@@lit", "plain"), { maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (files, args, maxDepth) => {
          const fs: Record<string, Uint8Array> = {};
          for (const [k, v] of Object.entries(files)) fs[`/w/${k}`] = v;
          try {
            const out = await expandArgfiles(args, { cwd: "/w", maxDepth, readFile: memoryFs(fs) });
            for (const a of out) expect(typeof a).toBe("string");
          } catch (err) {
            expect(err).toBeInstanceOf(ArgfileError);
            const e = err as ArgfileError;
            expect(e.path.startsWith("/w/")).toBe(true);
            expect(e.message).toContain(e.path);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
