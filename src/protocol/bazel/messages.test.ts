import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WorkRequestSchema } from "../../gen/bazel/worker_protocol_pb.js";
import {
  decodeWorkRequestJson,
  decodeWorkRequestProto,
  encodeWorkResponseJson,
  encodeWorkResponseProto,
} from "./messages.js";
import { ProtocolError } from "./protocol-error.js";

describe("WorkResponse proto encoding (docs/protocol/bazel-worker.md §1.3, §2.1)", () => {
  it("encodes 'hello from p1' exactly as observed from Bazel 4.2.3", () => {
    const frame = encodeWorkResponseProto({ exitCode: 0, output: "hello from p1", requestId: 0 });
    expect(frame.toString("hex")).toBe(`0f120d${Buffer.from("hello from p1").toString("hex")}`);
  });

  it("encodes a fully default response as the single byte 00", () => {
    expect([...encodeWorkResponseProto({ exitCode: 0, output: "", requestId: 0 })]).toEqual([0x00]);
  });

  it("sign-extends a negative exit_code to a 10-byte varint", () => {
    const frame = encodeWorkResponseProto({ exitCode: -1, output: "", requestId: 0 });
    expect(frame.toString("hex")).toBe("0b08ffffffffffffffffff01");
  });

  it("writes request_id and was_cancelled", () => {
    const frame = encodeWorkResponseProto({ exitCode: 1, output: "", requestId: 300, wasCancelled: true });
    expect(frame.toString("hex")).toBe("07" + "0801" + "18ac02" + "2001");
  });

  it("keeps output valid UTF-8 even for lone surrogates (Bazel's readStringRequireUtf8)", () => {
    const frame = encodeWorkResponseProto({ exitCode: 0, output: "a\ud800b", requestId: 0 });
    const text = frame.subarray(3).toString("utf8");
    expect(text).toBe("a\ufffdb");
    expect(new TextDecoder("utf-8", { fatal: true }).decode(frame.subarray(3))).toBe("a\ufffdb");
  });
});

describe("WorkResponse JSON encoding (docs/protocol/bazel-worker.md §2.2)", () => {
  it("always writes exitCode, output and requestId in lowerCamelCase, one object plus \\n", () => {
    const text = encodeWorkResponseJson({ exitCode: 0, output: "", requestId: 0 }).toString();
    expect(text).toBe('{"exitCode":0,"output":"","requestId":0}\n');
    // a first response shorter than 5 bytes hangs Bazel 4.2.3
    expect(text.length).toBeGreaterThanOrEqual(5);
    expect(text).not.toMatch(/exit_code|request_id|null/);
  });

  it("writes wasCancelled only when true", () => {
    expect(encodeWorkResponseJson({ exitCode: 1, output: "x", requestId: 3, wasCancelled: true }).toString()).toBe(
      '{"exitCode":1,"output":"x","requestId":3,"wasCancelled":true}\n',
    );
    expect(encodeWorkResponseJson({ exitCode: 1, output: "x", requestId: 3, wasCancelled: false }).toString()).not.toMatch(/wasCancelled/);
  });

  it("escapes newlines and quotes so each response stays on one line", () => {
    const text = encodeWorkResponseJson({ exitCode: 2, output: 'line1\n"q"\u2028', requestId: 1 }).toString();
    expect(text.split("\n")).toHaveLength(2);
    expect(JSON.parse(text).output).toBe('line1\n"q"\u2028');
  });
});

describe("WorkRequest decoding (§1.2, §2)", () => {
  it("decodes all six fields from proto", () => {
    const bytes = toBinary(
      WorkRequestSchema,
      create(WorkRequestSchema, {
        arguments: ["--a", "é"],
        inputs: [{ path: "x/y", digest: Buffer.from("abc") }],
        requestId: 7,
        cancel: false,
        verbosity: 10,
        sandboxDir: "__sandbox/1/_main",
      }),
    );
    const req = decodeWorkRequestProto(bytes);
    expect(req.arguments).toEqual(["--a", "é"]);
    expect(req.inputs[0]!.path).toBe("x/y");
    expect(Buffer.from(req.inputs[0]!.digest).toString()).toBe("abc");
    expect(req.requestId).toBe(7);
    expect(req.verbosity).toBe(10);
    expect(req.sandboxDir).toBe("__sandbox/1/_main");
  });

  it("decodes the singleplex cancel 02 20 01", () => {
    const req = decodeWorkRequestProto(Uint8Array.of(0x20, 0x01));
    expect(req).toMatchObject({ cancel: true, requestId: 0, arguments: [] });
  });

  it("skips unknown proto fields (5, 6 and 99 from newer Bazels)", () => {
    // field 99 varint 1, then field 1 "a"
    const bytes = Uint8Array.of(0x98, 0x06, 0x01, 0x0a, 0x01, 0x61);
    expect(decodeWorkRequestProto(bytes).arguments).toEqual(["a"]);
  });

  it("decodes an empty request (zero-length frame) to defaults", () => {
    expect(decodeWorkRequestProto(new Uint8Array(0))).toMatchObject({ arguments: [], requestId: 0, cancel: false });
  });

  it("rejects malformed proto with a ProtocolError naming the offset", () => {
    expect(() => decodeWorkRequestProto(Uint8Array.of(0x0a, 0x05, 0x61), 42)).toThrow(/offset 42/);
  });

  it("decodes JSON with \\u003d escapes, base64 digests and unknown keys", () => {
    const req = decodeWorkRequestJson(
      '{"arguments":["--output\\u003dj2"],"inputs":[{"path":"a","digest":"NTg5MWI1"}],"requestId":4,"future":{"x":1},"verbosity":10,"sandboxDir":"s"}',
    );
    expect(req.arguments).toEqual(["--output=j2"]);
    expect(Buffer.from(req.inputs[0]!.digest).toString()).toBe("5891b5");
    expect(req).toMatchObject({ requestId: 4, verbosity: 10, sandboxDir: "s" });
  });

  it("decodes the JSON singleplex cancel {\"cancel\":true}", () => {
    expect(decodeWorkRequestJson('{"cancel":true}')).toMatchObject({ cancel: true, requestId: 0 });
  });

  it("decodes BuildBuddy's all-fields-present JSON", () => {
    const req = decodeWorkRequestJson('{"arguments":[], "inputs":[],  "requestId":0}');
    expect(req).toMatchObject({ arguments: [], requestId: 0, cancel: false });
  });

  it("rejects non-objects and bad JSON with ProtocolError", () => {
    expect(() => decodeWorkRequestJson("[1]")).toThrow(ProtocolError);
    expect(() => decodeWorkRequestJson("{bad")).toThrow(ProtocolError);
    expect(() => decodeWorkRequestJson('{"requestId":"x"}')).toThrow(ProtocolError);
  });
});
