// Byte-level checks of the emulator's own codecs (docs/protocol/remote-executors.md §4.3, §4.4), so a
// wrong emulator cannot make the bridge look right.
import { describe, expect, it } from "vitest";
import {
  decodeDigestProto,
  encodeDigestProto,
  encodeRequestJson,
  parseJsonResponse,
  ResponseDecodeError,
  scanLines,
  seededRandom,
  splitFlagfileArgs,
} from "./emulator/index.js";

describe("serialized REAPI Digest (§4.4: BuildBuddy's Input.digest)", () => {
  it("is field 1 (hash, string) then field 2 (size_bytes, int64 varint), as Go proto.Marshal writes it", () => {
    const hash = "ab".repeat(32);
    const bytes = encodeDigestProto({ hash, sizeBytes: 300 });
    expect([...bytes.subarray(0, 2)]).toEqual([0x0a, 64]);
    expect(Buffer.from(bytes.subarray(2, 66)).toString()).toBe(hash);
    expect([...bytes.subarray(66)]).toEqual([0x10, 0xac, 0x02]);
    expect(decodeDigestProto(bytes)).toEqual({ hash, sizeBytes: 300 });
  });

  it("omits size_bytes for an empty file (proto3 default)", () => {
    const bytes = encodeDigestProto({ hash: "e3b0", sizeBytes: 0 });
    expect([...bytes]).toEqual([0x0a, 4, 0x65, 0x33, 0x62, 0x30]);
  });
});

describe("BuildBuddy flagfile handling (§4.3, §4.4)", () => {
  it("splits argv with ^(?:@|--?flagfile=)(.+), wherever the flagfile is", () => {
    expect(splitFlagfileArgs(["w", "--a", "@x", "--flagfile=y", "-flagfile=z", "--b", "@"])).toEqual({
      workerArgs: ["w", "--a", "--b", "@"],
      flagfiles: ["@x", "--flagfile=y", "-flagfile=z"],
    });
  });

  it("scans lines like bufio.Scanner: drops one trailing \\r, keeps empty lines, no extra last token", () => {
    expect(scanLines(Buffer.from("a\r\n\nb\r\r\nc"), "f")).toEqual(["a", "", "b\r", "c"]);
    expect(scanLines(Buffer.from("a\n"), "f")).toEqual(["a"]);
    expect(scanLines(Buffer.from(""), "f")).toEqual([]);
  });

  it("fails a line of 64 KiB or more with bufio.Scanner's error", () => {
    expect(scanLines(Buffer.from(`${"x".repeat(65_535)}\n`), "f")).toHaveLength(1);
    expect(() => scanLines(Buffer.from("x".repeat(65_536)), "f")).toThrow(/token too long/);
  });
});

describe("protojson requests and responses (§4.4)", () => {
  it("requests carry every field (requestId 0, empty lists), padded base64 digests, and end with \\n", () => {
    const text = encodeRequestJson({ arguments: [], inputs: [{ path: "p", digest: Uint8Array.of(1, 2) }] }, seededRandom(7)).toString();
    expect(text.endsWith("}\n")).toBe(true);
    expect(JSON.parse(text)).toEqual({ arguments: [], inputs: [{ path: "p", digest: "AQI=" }], requestId: 0 });
  });

  it("responses: exitCode or exit_code, the id ignored, unknown keys discarded; a duplicate is an error", () => {
    expect(parseJsonResponse('{"exit_code":3,"output":"x","requestId":99,"extra":1}')).toEqual({ exitCode: 3, output: "x" });
    expect(parseJsonResponse('{"exitCode":"4"}')).toEqual({ exitCode: 4, output: "" });
    expect(() => parseJsonResponse('{"exitCode":1,"exit_code":1}')).toThrow(ResponseDecodeError);
    expect(() => parseJsonResponse('{"output":5}')).toThrow(ResponseDecodeError);
  });
});
