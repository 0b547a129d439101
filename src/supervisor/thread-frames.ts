import { FRAME_HEADER_BYTES } from "./frame-channel.js";

/**
 * A codec frame (tool-process-ipc.ts) as a MessagePort carries it: the body without its length
 * header, in an ArrayBuffer of its own to transfer. Small frames live in slices of Node's shared
 * Buffer pool, and posting a view would clone the whole pool slab.
 */
export function frameToTransfer(frame: Buffer): ArrayBuffer {
  const body = new ArrayBuffer(frame.length - FRAME_HEADER_BYTES);
  new Uint8Array(body).set(frame.subarray(FRAME_HEADER_BYTES));
  return body;
}

/** The receiving side: the frame body as the codec's decoders read it. */
export function frameFromTransfer(body: ArrayBuffer): Buffer {
  return Buffer.from(body);
}
