/**
 * Base-128 varints and varint-delimited framing, written for the tests
 * alone: this client never imports the bridge's own framing, so it can catch its bugs.
 */

export class WireError extends Error {
  override readonly name = "WireError";
}

/** Encodes a non-negative integer, or a negative int32 as protobuf does (ten bytes, sign-extended). */
export function encodeVarint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** Reads one varint at `pos`: [value, next position], or undefined when the buffer ends inside it. */
export function readVarint(bytes: Uint8Array, pos: number): [bigint, number] | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) return undefined;
    const byte = bytes[pos + i]!;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new WireError("varint longer than 10 bytes");
}

/** `body` prefixed by its length: one delimited message as parseDelimitedFrom reads it. */
export function frame(body: Uint8Array): Buffer {
  return Buffer.concat([encodeVarint(body.length), body]);
}

/** Splits a byte stream into delimited message bodies, whatever the chunking. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const bodies: Buffer[] = [];
    for (;;) {
      const head = readVarint(this.buf, 0);
      if (head === undefined) return bodies;
      const [length, start] = head;
      if (length > BigInt(2 ** 31 - 1)) throw new WireError(`frame length ${length} is not a valid message size`);
      const end = start + Number(length);
      if (this.buf.length < end) return bodies;
      bodies.push(this.buf.subarray(start, end));
      this.buf = this.buf.subarray(end);
    }
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  /** At end of stream: throws if it ended inside a frame. */
  end(): void {
    if (this.buf.length > 0) throw new WireError(`stream ended inside a frame (${this.buf.length} bytes pending)`);
  }
}
