import { BridgeError } from "../../errors.js";

/** A frame the decoder will not take; `offset` is where it starts in the stream. */
export class FrameTooLargeError extends BridgeError {
  override readonly name = "FrameTooLargeError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
  }
}

/** Bytes in the big-endian length header before every frame. */
export const LENGTH_HEADER_BYTES = 4;

/** Prefixes `payload` with its length as a 4-byte big-endian integer. */
export function encodeLengthPrefixed(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, false);
  out.set(payload, LENGTH_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into 4-byte-length-prefixed frames, whatever the chunking. A declared
 * length above `maxFrameBytes` throws before any of the frame is buffered, so a peer speaking
 * something else cannot make us allocate gigabytes.
 */
export class LengthPrefixedDecoder {
  private pending: Uint8Array = new Uint8Array(0);
  private consumed = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns every frame it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const frames: Uint8Array[] = [];
    let at = 0;
    while (buf.length - at >= LENGTH_HEADER_BYTES) {
      const length = new DataView(buf.buffer, buf.byteOffset + at, LENGTH_HEADER_BYTES).getUint32(0, false);
      if (length > this.maxFrameBytes) {
        throw new FrameTooLargeError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`, this.consumed + at);
      }
      if (buf.length - at - LENGTH_HEADER_BYTES < length) break;
      frames.push(buf.slice(at + LENGTH_HEADER_BYTES, at + LENGTH_HEADER_BYTES + length));
      at += LENGTH_HEADER_BYTES + length;
    }
    this.consumed += at;
    this.pending = at === buf.length ? new Uint8Array(0) : buf.slice(at);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}
