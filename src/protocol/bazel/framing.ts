// Bazel frames each proto message with its length as a varint (Java's writeDelimitedTo): both
// directions of that framing live here.
import { ProtocolError } from "./protocol-error.js";

/** Encodes an unsigned 32-bit length as a base-128 varint. */
export function encodeVarint32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`varint length out of range: ${value}`);
  }
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}

/** Prepends a varint length to `message` in one buffer (one write per frame keeps frames atomic). */
export function frameMessage(message: Uint8Array): Buffer {
  const header = encodeVarint32(message.length);
  const out = Buffer.allocUnsafe(header.length + message.length);
  out.set(header, 0);
  out.set(message, header.length);
  return out;
}

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** One decoded frame: its body (without the length prefix) and where its prefix began in the stream. */
export interface Frame {
  readonly body: Uint8Array;
  readonly offset: number;
}

export interface FrameDecoderOptions {
  /** Frames declaring more bytes than this fail with `frame-too-large` instead of buffering forever. */
  maxFrameBytes?: number;
}

/**
 * Incremental decoder for varint length-delimited messages (Java's writeDelimitedTo).
 * Accepts any chunking: a varint or a message may be split anywhere, and one chunk may hold many
 * frames. After an error the decoder stays failed: a length-prefixed stream cannot resynchronise.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Absolute stream offset of the first byte in `pending`. */
  private consumed = 0;
  private failed: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes buffered but not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Stream offset of the next frame's first byte. */
  get offset(): number {
    return this.consumed;
  }

  /**
   * Feeds a chunk; returns every frame it completes, in order. On bad input it throws a
   * ProtocolError — but frames completed earlier in the same chunk are returned first and the
   * error is thrown by the next call, so good requests ahead of garbage are still answered.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw this.failed;
    const frames: Frame[] = [];
    try {
      this.scan(chunk, frames);
    } catch (err) {
      if (frames.length === 0) throw err;
    }
    return frames;
  }

  private scan(chunk: Uint8Array, frames: Frame[]): void {
    if (chunk.length === 0) return;
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.pendingBytes += chunk.length;
      // Only join once the header says the frame is complete, so a 100 MiB frame arriving in 64 KiB
      // chunks is copied once, not once per chunk.
      const need = this.peekFrameSize();
      if (need === undefined || this.pendingBytes < need) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let pos = 0;
    while (pos < buf.length) {
      const header = this.readHeader(buf, pos);
      if (header === undefined) break;
      const end = pos + header.headerBytes + header.length;
      if (end > buf.length) break;
      frames.push({ body: buf.subarray(pos + header.headerBytes, end), offset: this.consumed });
      this.consumed += end - pos;
      pos = end;
    }
    if (pos < buf.length) {
      this.pending = [buf.subarray(pos)];
      this.pendingBytes = buf.length - pos;
    }
  }

  /**
   * Declares the end of input. Throws `truncated-frame` when a partial frame is left over, so a
   * peer that died mid-message is reported rather than waited for.
   */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.pendingBytes > 0) {
      const need = this.peekFrameSize();
      const detail =
        need === undefined
          ? `${this.pendingBytes} byte(s) of an unfinished length prefix`
          : `${this.pendingBytes} of ${need} byte(s) of a frame`;
      this.fail("truncated-frame", `truncated frame at end of input: got ${detail}`, this.consumed);
    }
  }

  /** Total size (header + body) of the frame at the head of `pending`, once its header is complete. */
  private peekFrameSize(): number | undefined {
    // The header is at most 10 bytes; gather just enough of them.
    const head: number[] = [];
    for (const part of this.pending) {
      for (let i = 0; i < part.length && head.length < 10; i++) head.push(part[i]!);
      if (head.length >= 10) break;
    }
    const header = this.readHeader(Buffer.from(head), 0);
    return header === undefined ? undefined : header.headerBytes + header.length;
  }

  private readHeader(buf: Buffer, pos: number): { length: number; headerBytes: number } | undefined {
    let length = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= buf.length) return undefined;
      const byte = buf[pos + i]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) {
        if (length > this.maxFrameBytes) {
          this.fail(
            "frame-too-large",
            `frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit (--max-message-mb)`,
            this.consumed,
          );
        }
        return { length, headerBytes: i + 1 };
      }
      if (length > this.maxFrameBytes) {
        this.fail(
          "frame-too-large",
          `frame length prefix exceeds the ${this.maxFrameBytes}-byte limit (--max-message-mb)`,
          this.consumed,
        );
      }
    }
    this.fail("varint-overflow", "length prefix is longer than 10 bytes", this.consumed);
  }

  private fail(code: ProtocolError["code"], message: string, offset: number): never {
    this.failed = new ProtocolError(code, message, offset);
    throw this.failed;
  }
}
