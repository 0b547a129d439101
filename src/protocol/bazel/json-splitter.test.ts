import { describe, expect, it } from "vitest";
import { ProtocolError } from "./protocol-error.js";
import { JsonValueSplitter } from "./json-splitter.js";

function split(chunks: (string | Uint8Array)[]): string[] {
  const s = new JsonValueSplitter();
  const out: string[] = [];
  for (const c of chunks) for (const v of s.push(typeof c === "string" ? Buffer.from(c) : c)) out.push(v.text);
  s.end();
  return out;
}

describe("JsonValueSplitter (docs/protocol/bazel-worker.md §2.2: JSON framing by version)", () => {
  const a = '{"arguments":["--output\\u003dj2","x"],"inputs":[{"path":"a","digest":"NTg="}]}';
  const b = '{"arguments":["a}b{c","q\\"}"],"requestId":2}';
  const c = '{"cancel":true}';

  it("splits Bazel 4.2.3's back-to-back objects with no delimiter", () => {
    expect(split([a + b + c])).toEqual([a, b, c]);
  });

  it("splits Bazel 5+ newline-delimited objects", () => {
    expect(split([`${a}\n${b}\n${c}\n`])).toEqual([a, b, c]);
  });

  it("skips arbitrary whitespace between values (BuildBuddy's irregular spacing)", () => {
    expect(split([` \n\t${a}  \r\n ${b}\t${c}\n\n`])).toEqual([a, b, c]);
  });

  it("keeps braces, brackets, quotes and escapes inside strings intact", () => {
    const tricky = '{"arguments":["{","}","[","]","\\\\","\\\\\\"}{","\\u007b"]}';
    expect(split([tricky + tricky])).toEqual([tricky, tricky]);
    expect(JSON.parse(split([tricky])[0]!)).toEqual({ arguments: ["{", "}", "[", "]", "\\", '\\"}{', "{"] });
  });

  it("gives identical values when the stream is split at every byte boundary", () => {
    const whole = Buffer.from(`${a}${b}\n${c}`);
    for (let cut = 0; cut <= whole.length; cut++) {
      expect(split([whole.subarray(0, cut), whole.subarray(cut)]), `cut at ${cut}`).toEqual([a, b, c]);
    }
  });

  it("passes raw UTF-8 through, also when a multi-byte character is split across chunks", () => {
    const v = '{"arguments":["é","日本語","🎉"]}';
    const bytes = Buffer.from(v);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([v]);
    }
  });

  it("reports where each value starts in the stream", () => {
    const s = new JsonValueSplitter();
    const values = s.push(Buffer.from(`  ${c}\n${c}`));
    expect(values.map((v) => v.offset)).toEqual([2, 2 + c.length + 1]);
  });

  it("rejects a stray non-object byte between values with the offset", () => {
    const s = new JsonValueSplitter();
    const first = s.push(Buffer.from(`${c}x${c}`));
    // the good value ahead of the garbage is still delivered ...
    expect(first.map((v) => v.text)).toEqual([c]);
    // ... and the error surfaces next
    expect(() => s.push(new Uint8Array(0))).toThrow(/expected '\{' to start a JSON message, got 'x'.*offset 15/);
  });

  it("reports a value left open at end of input", () => {
    const s = new JsonValueSplitter();
    s.push(Buffer.from('{"arguments":["a"'));
    expect(() => s.end()).toThrow(ProtocolError);
    expect(() => new JsonValueSplitter().end()).not.toThrow();
  });

  it("rejects a value over the size limit instead of buffering forever", () => {
    const s = new JsonValueSplitter({ maxValueBytes: 100 });
    expect(() => s.push(Buffer.from(`{"arguments":["${"x".repeat(200)}`))).toThrow(/exceeds the 100-byte limit/);
  });
});
