// Bench-side encoders and scanners. Deliberately independent of src/protocol, so optimising the
// bridge's codecs cannot change what the client measures.
import { create, toBinary } from "@bufbuild/protobuf";
import { WorkRequestSchema } from "../../src/gen/bazel/worker_protocol_pb.js";
import { ExecuteCommandSchema, ExecuteCommandStreamSchema } from "../../src/gen/buck2/worker_pb.js";

export function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function frame(body: Uint8Array): Buffer {
  const head = varint(body.length);
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** What a no-op Bazel request carries besides its id: a realistic pair of inputs, no arguments. */
const INPUTS = [
  { path: "bazel-out/k8-fastbuild/bin/pkg/a.ts", digest: new Uint8Array(32).fill(0xab) },
  { path: "bazel-out/k8-fastbuild/bin/pkg/b.ts", digest: new Uint8Array(32).fill(0xcd) },
];

/** One length-prefixed binary WorkRequest for `requestId` (0 = singleplex). */
export function bazelProtoRequest(requestId: number, args: string[] = []): Buffer {
  return frame(toBinary(WorkRequestSchema, create(WorkRequestSchema, { arguments: args, inputs: INPUTS, requestId })));
}

/** One JSON WorkRequest line, in the lowerCamelCase form Bazel writes. */
export function bazelJsonRequest(requestId: number, args: string[] = []): Buffer {
  const inputs = INPUTS.map((i) => ({ path: i.path, digest: Buffer.from(i.digest).toString("base64") }));
  const body: Record<string, unknown> = { arguments: args, inputs };
  if (requestId !== 0) body.requestId = requestId;
  return Buffer.from(`${JSON.stringify(body)}\n`);
}

/** The env Buck2 sends with every command (docs/protocol/buck2-worker.md §6.2): TMPDIR, the action env, then two ids. */
const BUCK2_ENV = [
  ["TMPDIR", "/tmp/buck2-bench/scratch"],
  ["BUCK_SCRATCH_PATH", "buck-out/v2/tmp/bench"],
  ["BUCK2_DAEMON_UUID", "5f1c0d6e-0000-4000-8000-000000000000"],
  ["BUCK_BUILD_ID", "9a0b1c2d-0000-4000-8000-000000000000"],
].map(([k, v]) => ({ key: Buffer.from(k!), value: Buffer.from(v!) }));

export function buck2ExecuteCommand(args: string[] = []): Buffer {
  return Buffer.from(
    toBinary(ExecuteCommandSchema, create(ExecuteCommandSchema, { argv: args.map((a) => Buffer.from(a)), env: BUCK2_ENV })),
  );
}

export function buck2StreamCommand(id: number, args: string[] = []): Buffer {
  const request = create(ExecuteCommandSchema, { argv: args.map((a) => Buffer.from(a)), env: BUCK2_ENV });
  return Buffer.from(toBinary(ExecuteCommandStreamSchema, create(ExecuteCommandStreamSchema, { request, id: BigInt(id) })));
}

/**
 * Value of varint field `field` at the top level of a protobuf message, or 0 when absent (proto3
 * default). Skips every other field; enough to route responses by id without a full decode.
 */
export function scanVarintField(msg: Uint8Array, field: number): number {
  let pos = 0;
  let found = 0;
  const readVarint = (): number => {
    let result = 0;
    let mult = 1;
    for (;;) {
      const b = msg[pos++];
      if (b === undefined) throw new Error("truncated varint in response");
      result += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) return result;
      mult *= 128;
    }
  };
  while (pos < msg.length) {
    const key = readVarint();
    const wire = key & 7;
    const num = Math.floor(key / 8);
    if (wire === 0) {
      const v = readVarint();
      if (num === field) found = v;
    } else if (wire === 2) {
      const len = readVarint(); // not `pos += readVarint()`: that adds to the pos read before the call
      pos += len;
    }
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unexpected wire type ${wire} in response`);
  }
  return found;
}

/** Splits a byte stream of varint length-prefixed frames; keeps the remainder between pushes. */
export class FrameSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    let buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let pos = 0;
    for (;;) {
      let len = 0;
      let mult = 1;
      let p = pos;
      let complete = false;
      while (p < buf.length) {
        const b = buf[p++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || p + len > buf.length) break;
      onFrame(buf.subarray(p, p + len));
      pos = p + len;
    }
    buf = buf.subarray(pos);
    this.rest = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }
}

/** Splits newline-terminated JSON responses. */
export class LineSplitter {
  private rest = "";

  push(chunk: Buffer, onLine: (line: string) => void): void {
    const text = this.rest + chunk.toString("utf8");
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      const line = text.slice(start, nl).trim();
      if (line !== "") onLine(line);
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }
}
