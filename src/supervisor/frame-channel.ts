import type { Socket } from "node:net";

/** Bytes of the length header in front of every frame (u32, little-endian). */
export const FRAME_HEADER_BYTES = 4;

/**
 * Largest frame either side accepts. A job's captured output is bounded by OutputSink (64 Mi UTF-16
 * units, at most 192 MiB of UTF-8); anything far beyond that is a corrupted stream, not a message.
 */
export const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/**
 * Length-prefixed frames over one socket (the tool process's fd 3), both directions. Knows nothing
 * of what the frames mean. Frames queued while handling one event (a read, a timer, and the promise
 * chains they start) leave together in one write, flushed from process.nextTick: 8 requests read in
 * one chunk become one write to the tool process, and their 8 answers one write back. A write is a
 * syscall and, on the other side, a wake-up. (setImmediate batched no better and cost more CPU per
 * request in the Bazel multiplex benchmark.)
 */
export class FrameChannel {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  private readonly flushNow = (): void => this.flush();
  /** Unparsed bytes: chunks kept as a list so a large frame is joined once, not per chunk. */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly onFrame: (frame: Buffer) => void,
    /** A peer that sends garbage: the channel is closed, the owner decides what else to do. */
    private readonly onCorrupt: (reason: string) => void,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
  }

  /** Queues a frame made by `frameWriter` (its header already in place) for the next flush. */
  send(frame: Buffer): void {
    if (this.closed) return;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Writes everything queued now; `done` runs once it is handed to the kernel (or the write failed). */
  flush(done?: () => void): void {
    this.flushQueued = false;
    const parts = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.closed || !this.socket.writable) {
      done?.();
      return;
    }
    const callback = done ? () => done() : undefined;
    if (parts.length === 0) {
      if (done && this.socket.writableLength === 0) done();
      else if (done) {
        const once = (): void => {
          this.socket.off("drain", once).off("close", once);
          done();
        };
        this.socket.once("drain", once).once("close", once);
      }
    } else if (parts.length === 1 || bytes <= 64 * 1024) {
      // Copying a few small frames is cheaper than writev's bookkeeping.
      const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
      if (callback) this.socket.write(data, callback);
      else this.socket.write(data);
    } else {
      this.socket.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i === parts.length - 1 && callback) this.socket.write(parts[i]!, callback);
        else this.socket.write(parts[i]!);
      }
      this.socket.uncork();
    }
  }

  /** Stops reading and writing; queued frames are dropped. */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.chunks = [];
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let buf: Buffer;
    if (this.chunkBytes === 0) {
      buf = chunk;
    } else {
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      // Wait for the whole frame before copying anything together.
      const first = this.chunks[0]!;
      if (first.length >= FRAME_HEADER_BYTES && this.chunkBytes < FRAME_HEADER_BYTES + first.readUInt32LE(0)) return;
      buf = Buffer.concat(this.chunks, this.chunkBytes);
      this.chunks = [];
      this.chunkBytes = 0;
    }
    let offset = 0;
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const size = buf.readUInt32LE(offset);
      if (size > MAX_FRAME_BYTES) {
        this.close();
        this.onCorrupt(`a frame header announces ${size} bytes (more than ${MAX_FRAME_BYTES}): the stream is corrupted`);
        return;
      }
      const end = offset + FRAME_HEADER_BYTES + size;
      if (end > buf.length) break;
      this.onFrame(buf.subarray(offset + FRAME_HEADER_BYTES, end));
      if (this.closed) return;
      offset = end;
    }
    if (offset < buf.length) {
      this.chunks.push(buf.subarray(offset));
      this.chunkBytes = buf.length - offset;
    }
  }
}
