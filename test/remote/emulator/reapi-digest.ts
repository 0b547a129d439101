import { createHash } from "node:crypto";

/** A REAPI `build.bazel.remote.execution.v2.Digest`: lowercase hex hash and size in bytes. */
export interface Digest {
  readonly hash: string;
  readonly sizeBytes: number;
}

export function sha256Digest(content: Uint8Array | string): Digest {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  return { hash: createHash("sha256").update(bytes).digest("hex"), sizeBytes: bytes.length };
}

/** The display form Buck2 and BuildBuddy print: `<hex>:<size>`. */
export function digestString(digest: Digest): string {
  return `${digest.hash}:${digest.sizeBytes}`;
}

function pushVarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  let v = value;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * Serializes a Digest exactly as Go's `proto.Marshal` does: field 1 (`hash`, string, tag 0x0a),
 * then field 2 (`size_bytes`, int64 varint, tag 0x10). proto3 omits default values, so an empty
 * hash or a zero size is not written at all. BuildBuddy sends these bytes as `Input.digest`.
 */
export function encodeDigestProto(digest: Digest): Uint8Array {
  const out: number[] = [];
  if (digest.hash.length > 0) {
    const hash = Buffer.from(digest.hash, "utf8");
    out.push(0x0a);
    pushVarint(out, hash.length);
    for (const b of hash) out.push(b);
  }
  if (digest.sizeBytes !== 0) {
    out.push(0x10);
    pushVarint(out, digest.sizeBytes);
  }
  return Uint8Array.from(out);
}

/** Inverse of `encodeDigestProto`, for assertions on what the worker received. */
export function decodeDigestProto(bytes: Uint8Array): Digest {
  let pos = 0;
  let hash = "";
  let sizeBytes = 0;
  const varint = (): number => {
    let value = 0;
    let mul = 1;
    for (;;) {
      const b = bytes[pos++];
      if (b === undefined) throw new Error("truncated varint in Digest");
      value += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return value;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    if (tag === 0x0a) {
      const len = varint();
      hash = Buffer.from(bytes.subarray(pos, pos + len)).toString("utf8");
      pos += len;
    } else if (tag === 0x10) {
      sizeBytes = varint();
    } else {
      throw new Error(`unexpected tag 0x${tag.toString(16)} in Digest`);
    }
  }
  return { hash, sizeBytes };
}
