// Hand-written reading and writing of the common WorkRequest and WorkResponse, because the generic
// protobuf-es codec allocates a reader, a writer and message objects per request, a measurable share
// of a no-op request's cost (bench/README.md). The generated code stays the source of truth: each
// function here handles only the plain case — known fields with their proper wire types, ASCII
// strings, non-negative ints below 2^31 — and returns undefined for anything else, so the caller
// falls back to protobuf-es. `fast-path.test.ts` checks both give the same result.
import type { WorkRequestData, WorkResponseData } from "./work-data.js";

/** Fields of WorkRequest and Input (docs/protocol/bazel-worker.md): number << 3 | wire type. */
const TAG = {
  arguments: (1 << 3) | 2,
  inputs: (2 << 3) | 2,
  requestId: (3 << 3) | 0,
  cancel: (4 << 3) | 0,
  verbosity: (5 << 3) | 0,
  sandboxDir: (6 << 3) | 2,
  inputPath: (1 << 3) | 2,
  inputDigest: (2 << 3) | 2,
} as const;

/** Digest of an Input without one: protobuf-es gives a fresh empty Uint8Array, so do we. */
const emptyDigest = (): Uint8Array => new Uint8Array(0);

/**
 * A cursor over one message. `varint` answers -1 for anything the fast path leaves to protobuf-es:
 * a varint longer than 5 bytes, a value of 2^31 or more, or one running past the end.
 */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    const { buf, end } = this;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= end) return -1;
      const byte = buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value <= 0x7fffffff ? value : -1;
    }
    return -1;
  }

  /** Skips a length-delimited field; returns where its content starts, or -1 when it overruns the message. */
  delimited(): number {
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) return -1;
    const start = this.pos;
    this.pos += len;
    return start;
  }

  /** An ASCII string between `start` and the cursor; undefined when any byte is not ASCII. */
  ascii(start: number): string | undefined {
    const { buf, pos } = this;
    for (let i = start; i < pos; i++) if (buf[i]! > 0x7f) return undefined;
    return buf.toString("latin1", start, pos);
  }
}

/** Decodes a plain WorkRequest body, or returns undefined to leave it to protobuf-es. */
export function decodeWorkRequestFast(body: Uint8Array): WorkRequestData | undefined {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const c = new Cursor(buf, 0, buf.length);
  const request: WorkRequestData = { arguments: [], inputs: [], requestId: 0, cancel: false, verbosity: 0, sandboxDir: "" };
  while (c.pos < c.end) {
    const tag = buf[c.pos++]!; // every known tag fits in one byte; a longer one is unknown here
    switch (tag) {
      case TAG.arguments:
      case TAG.sandboxDir: {
        const start = c.delimited();
        if (start < 0) return undefined;
        const text = c.ascii(start);
        if (text === undefined) return undefined;
        if (tag === TAG.arguments) request.arguments.push(text);
        else request.sandboxDir = text;
        break;
      }
      case TAG.inputs: {
        const start = c.delimited();
        if (start < 0) return undefined;
        const input = decodeInput(buf, start, c.pos);
        if (input === undefined) return undefined;
        request.inputs.push(input);
        break;
      }
      case TAG.requestId:
      case TAG.verbosity: {
        const value = c.varint();
        if (value < 0) return undefined;
        if (tag === TAG.requestId) request.requestId = value;
        else request.verbosity = value;
        break;
      }
      case TAG.cancel: {
        const value = c.varint();
        if (value !== 0 && value !== 1) return undefined;
        request.cancel = value === 1;
        break;
      }
      default:
        return undefined;
    }
  }
  return request;
}

function decodeInput(buf: Buffer, start: number, end: number): { path: string; digest: Uint8Array } | undefined {
  const c = new Cursor(buf, start, end);
  let path = "";
  let digest: Uint8Array | undefined;
  while (c.pos < end) {
    const tag = buf[c.pos++]!;
    const fieldStart = c.delimited();
    if (fieldStart < 0) return undefined;
    if (tag === TAG.inputPath) {
      const text = c.ascii(fieldStart);
      if (text === undefined) return undefined;
      path = text;
    } else if (tag === TAG.inputDigest) {
      // A view into the frame, as protobuf-es gives it.
      digest = buf.subarray(fieldStart, c.pos);
    } else return undefined;
  }
  return { path, digest: digest ?? emptyDigest() };
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  let v = value;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/**
 * The whole length-prefixed frame of a WorkResponse, as protobuf-es writes it (fields in number
 * order, default values omitted), or undefined for a negative exit code or id (10-byte varints,
 * left to protobuf-es). `output` must be well-formed (no lone surrogates).
 */
export function encodeWorkResponseFast(response: WorkResponseData, output: string): Buffer | undefined {
  const exitCode = response.exitCode | 0;
  const requestId = response.requestId | 0;
  if (exitCode < 0 || requestId < 0) return undefined;
  const outputBytes = output.length === 0 ? 0 : Buffer.byteLength(output, "utf8");
  let size = 0;
  if (exitCode !== 0) size += 1 + varintSize(exitCode);
  if (outputBytes > 0) size += 1 + varintSize(outputBytes) + outputBytes;
  if (requestId !== 0) size += 1 + varintSize(requestId);
  if (response.wasCancelled === true) size += 2;
  const frame = Buffer.allocUnsafe(varintSize(size) + size);
  let pos = writeVarint(frame, 0, size);
  if (exitCode !== 0) {
    frame[pos++] = (1 << 3) | 0;
    pos = writeVarint(frame, pos, exitCode);
  }
  if (outputBytes > 0) {
    frame[pos++] = (2 << 3) | 2;
    pos = writeVarint(frame, pos, outputBytes);
    pos += frame.write(output, pos, outputBytes, "utf8");
  }
  if (requestId !== 0) {
    frame[pos++] = (3 << 3) | 0;
    pos = writeVarint(frame, pos, requestId);
  }
  if (response.wasCancelled === true) {
    frame[pos++] = (4 << 3) | 0;
    frame[pos++] = 1;
  }
  return frame;
}
