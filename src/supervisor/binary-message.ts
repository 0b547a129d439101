import { FRAME_HEADER_BYTES } from "./frame-channel.js";

/** Strings longer than this are measured exactly before writing, not sized at 3 bytes per unit. */
const MEASURE_ABOVE_UNITS = 16 * 1024;

/**
 * Builds one frame: the length header, then fields in a fixed order (the message type decides which).
 * Numbers are f64 unless stated, strings a u32 byte length then UTF-8. A hand-rolled encoding
 * because JSON and structured clone both cost more per request than the fields are worth
 * (bench/ipc-channel.ts).
 */
export class FrameWriter {
  private buf: Buffer;
  private at = FRAME_HEADER_BYTES;

  constructor(sizeHint = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(sizeHint, 64));
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf[this.at++] = value;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(value, this.at);
    this.at += 4;
    return this;
  }

  f64(value: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.at);
    this.at += 8;
    return this;
  }

  string(value: string): this {
    const max = value.length > MEASURE_ABOVE_UNITS ? Buffer.byteLength(value, "utf8") : value.length * 3;
    this.ensure(4 + max);
    const n = this.buf.write(value, this.at + 4, "utf8");
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.ensure(4 + value.byteLength);
    this.buf.writeUInt32LE(value.byteLength, this.at);
    this.buf.set(value, this.at + 4);
    this.at += 4 + value.byteLength;
    return this;
  }

  /** The finished frame, header included. */
  finish(): Buffer {
    this.buf.writeUInt32LE(this.at - FRAME_HEADER_BYTES, 0);
    return this.buf.subarray(0, this.at);
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** Reads a frame body written by FrameWriter, field by field; throws RangeError when it runs short. */
export class FrameReader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString("utf8", this.at, this.at + n);
    this.at += n;
    return s;
  }

  /** A copy: the frame's memory belongs to the channel's read buffer. */
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return b;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new RangeError(`frame ends after ${this.buf.length} bytes, ${this.at + n} needed`);
  }
}
