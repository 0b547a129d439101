// The tests' Bazel-protocol client must be an independent oracle: it imports nothing from the
// bridge, agrees byte for byte with the reference protobuf runtime, and rejects what Bazel rejects.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { WorkRequestSchema, WorkResponseSchema } from "../../src/gen/bazel/worker_protocol_pb.js";
import {
  decodeWorkRequest,
  decodeWorkResponse,
  encodeVarint,
  encodeWorkRequest,
  encodeWorkResponse,
  frame,
  ResponseStream,
  parseWorkResponse,
  type WorkRequest,
} from "./bazel-client/index.js";

const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), "bazel-client");
const REPO_ROOT = resolve(CLIENT_DIR, "..", "..", "..");

/** Every module specifier a file imports, statically or dynamically, re-exports included. */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) specs.push(m[1]!);
  return specs;
}

/** What in `dir` reaches outside the client: anything but node: built-ins and its own files. */
export function foreignImports(dir: string): string[] {
  const bad: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".ts")) continue;
    for (const spec of importsOf(readFileSync(join(dir, name), "utf8"))) {
      if (spec.startsWith("node:")) continue;
      const target = spec.startsWith(".") ? resolve(dir, spec) : undefined;
      if (target !== undefined && dirname(target) === dir) continue;
      bad.push(`${name} imports ${spec}${target ? ` (${relative(REPO_ROOT, target)})` : ""}`);
    }
  }
  return bad;
}

describe("independence", () => {
  it("no file of the client imports from src/, dist/ or any package: only node: built-ins and its own files", () => {
    expect(readdirSync(CLIENT_DIR).filter((n) => n.endsWith(".ts")).length).toBeGreaterThan(3);
    expect(foreignImports(CLIENT_DIR)).toEqual([]);
  });

  it("the check sees every import form (it would catch a new one)", () => {
    const src = [
      'import { a } from "../../../src/protocol/varint.js";',
      'export { b } from "@bufbuild/protobuf";',
      'import "../x.js";',
      'const c = await import("../../../src/gen/bazel/worker_protocol_pb.js");',
      'import type { D } from "./messages.js";',
    ].join("\n");
    expect(importsOf(src)).toEqual(["../../../src/protocol/varint.js", "@bufbuild/protobuf", "../x.js", "../../../src/gen/bazel/worker_protocol_pb.js", "./messages.js"]);
  });
});

const REQUESTS: WorkRequest[] = [
  {},
  { arguments: ["--echo=hi", "", "ünïcødé ✓ 🙂"] },
  { arguments: ["a"], inputs: [{ path: "x/y.ts", digest: Uint8Array.from([0, 1, 255]) }, { path: "", digest: new Uint8Array(0) }], requestId: 7 },
  { requestId: 2 ** 31 - 1, cancel: true },
  { requestId: -5, verbosity: 10, sandboxDir: "sandbox/3" },
  { arguments: ["x".repeat(300)], requestId: 300 },
];

describe("agrees with the reference protobuf runtime (the generated schema is only the referee here)", () => {
  it.each(REQUESTS.map((r, i) => [i, r] as const))("WorkRequest %i: same bytes, and decodes back", (_i, req) => {
    const reference = toBinary(WorkRequestSchema, create(WorkRequestSchema, { ...req, arguments: [...(req.arguments ?? [])], inputs: [...(req.inputs ?? [])] }));
    const mine = encodeWorkRequest(req);
    expect(Buffer.from(mine).toString("hex")).toBe(Buffer.from(reference).toString("hex"));
    const back = decodeWorkRequest(mine);
    expect(back.arguments).toEqual(req.arguments ?? []);
    expect(back.requestId).toBe(req.requestId ?? 0);
    expect(back.inputs.map((i) => [i.path, Buffer.from(i.digest).toString("hex")])).toEqual((req.inputs ?? []).map((i) => [i.path, Buffer.from(i.digest).toString("hex")]));
  });

  it.each([
    { exitCode: 0, output: "", requestId: 0, wasCancelled: false },
    { exitCode: 1, output: "error: ✗\n", requestId: 42, wasCancelled: false },
    { exitCode: -1, output: "neg", requestId: -3, wasCancelled: true },
  ])("WorkResponse %o: decodes what protobuf-es writes, writes what it reads", (resp) => {
    const reference = toBinary(WorkResponseSchema, create(WorkResponseSchema, resp));
    expect(decodeWorkResponse(reference)).toEqual(resp);
    expect(fromBinary(WorkResponseSchema, encodeWorkResponse(resp))).toMatchObject(resp);
  });
});

describe("catches a broken worker", () => {
  const okFrame = frame(encodeWorkResponse({ exitCode: 0, output: "fine", requestId: 1 }));

  it("reassembles responses split at every byte", () => {
    const two = Buffer.concat([okFrame, frame(encodeWorkResponse({ exitCode: 3, output: "é", requestId: 2 }))]);
    for (let cut = 0; cut <= two.length; cut++) {
      const s = new ResponseStream("proto");
      const got = [...s.push(two.subarray(0, cut)), ...s.push(two.subarray(cut))];
      expect(got.map((r) => r.requestId)).toEqual([1, 2]);
      s.end();
    }
  });

  it("a length prefix longer than its body leaves the stream unfinished; end() says so", () => {
    const s = new ResponseStream("proto");
    expect(s.push(Buffer.concat([encodeVarint(50), Buffer.from("short")]))).toEqual([]);
    expect(() => s.end()).toThrow(/stream ended inside a frame \(6 bytes pending\)/);
  });

  it("a varint of 11 bytes, a truncated field, a wrong wire type and invalid UTF-8 are errors", () => {
    expect(() => new ResponseStream("proto").push(Buffer.alloc(11, 0xff))).toThrow(/varint longer than 10 bytes/);
    expect(() => new ResponseStream("proto").push(frame(Buffer.from([0x12, 0x05, 0x61])))).toThrow(/field 2 runs past the end/);
    expect(() => new ResponseStream("proto").push(frame(Buffer.from([0x0a, 0x01, 0x61])))).toThrow(/field 1 has wire type 2, expected 0/);
    expect(() => new ResponseStream("proto").push(frame(Buffer.from([0x12, 0x01, 0xc3])))).toThrow(/not valid UTF-8/);
  });

  it("JSON: a snake_case key fails the strict reading; Bazel's reading skips it, so exitCode reads as 0", () => {
    const snake = '{"exit_code":1,"output":"x","requestId":0}\n';
    expect(() => new ResponseStream("json").push(Buffer.from(snake))).toThrow(/unknown response key exit_code/);
    expect(new ResponseStream("json", "bazel").push(Buffer.from(snake))[0]!.exitCode).toBe(0);
    expect(parseWorkResponse('{"exit_code":1,"output":"x"}', "protojson").exitCode).toBe(1);
  });

  it("JSON: duplicate keys, null, a missing field, a non-object and trailing text are errors", () => {
    expect(() => parseWorkResponse('{"exitCode":0,"exitCode":1,"output":"","requestId":0}', "bazel")).toThrow(/more than one exitCode/);
    expect(() => parseWorkResponse('{"exitCode":null,"output":"","requestId":0}', "bazel")).toThrow(/null value for exitCode/);
    expect(() => parseWorkResponse('{"exitCode":0,"requestId":0}', "strict")).toThrow(/response without output/);
    expect(() => parseWorkResponse('{"exitCode":0.5,"output":"","requestId":0}', "strict")).toThrow(/not an int32/);
    expect(() => new ResponseStream("json").push(Buffer.from("[1]"))).toThrow(/Expected BEGIN_OBJECT/);
    expect(() => new ResponseStream("json").push(Buffer.from("garbage{}"))).toThrow(/Expected BEGIN_OBJECT/);
  });

  it("JSON: responses split at every byte, with escapes, braces and quotes inside strings, read the same", () => {
    const outputs = ['a "quoted" {brace} [bracket] \\ back\\slash', '"} unbalanced', "ends in a backslash \\", "é\n}{", ""];
    const text = Buffer.from(outputs.map((o, i) => JSON.stringify({ exitCode: i, output: o, requestId: i + 1 })).join(" \n"));
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new ResponseStream("json");
      const got = [...s.push(text.subarray(0, cut)), ...s.push(text.subarray(cut))];
      expect(got.map((r) => r.output), `cut at ${cut}`).toEqual(outputs);
      s.end();
    }
  });

  it("JSON: objects back to back with no delimiter (Bazel 4.2.3) and split mid-character are read", () => {
    const text = Buffer.from('{"exitCode":0,"output":"é","requestId":1}{"exitCode":2,"output":"","requestId":2}');
    const s = new ResponseStream("json");
    const cut = text.indexOf(0xc3) + 1; // inside the two-byte é
    expect([...s.push(text.subarray(0, cut)), ...s.push(text.subarray(cut))].map((r) => [r.requestId, r.output])).toEqual([
      [1, "é"],
      [2, ""],
    ]);
  });
});
