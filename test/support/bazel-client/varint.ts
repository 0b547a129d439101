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

/**
 * Splits a byte stream into delimited message bodies, whatever the chunking. Chunks of an
 * unfinished frame are only joined once the whole frame is there.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the next frame is complete, once its length is known. */
  private needed = 0;

  push(chunk: Uint8Array): Buffer[] {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const bodies: Buffer[] = [];
    for (;;) {
      const head = readVarint(buf, 0);
      let end = 0;
      if (head !== undefined) {
        const [length, start] = head;
        if (length > BigInt(2 ** 31 - 1)) throw new WireError(`frame length ${length} is not a valid message size`);
        end = start + Number(length);
        if (buf.length >= end) {
          bodies.push(buf.subarray(start, end));
          buf = buf.subarray(end);
          continue;
        }
      }
      this.chunks = buf.length > 0 ? [buf] : [];
      this.buffered = buf.length;
      this.needed = end;
      return bodies;
    }
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** At end of stream: throws if it ended inside a frame. */
  end(): void {
    if (this.buffered > 0) throw new WireError(`stream ended inside a frame (${this.buffered} bytes pending)`);
  }
}
