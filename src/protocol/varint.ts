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
