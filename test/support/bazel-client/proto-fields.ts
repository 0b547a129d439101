import { encodeVarint, readVarint, WireError } from "./varint.js";

/** The protobuf wire types WorkRequest and WorkResponse use. */
export const VARINT = 0;
export const LENGTH_DELIMITED = 2;

export interface Field {
  number: number;
  wireType: number;
  /** Set for VARINT fields. */
  varint?: bigint;
  /** Set for LENGTH_DELIMITED fields. */
  bytes?: Buffer;
}

/** Splits one message body into its fields; throws on truncation and on wire types these messages never use. */
export function readFields(body: Uint8Array, what: string): Field[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (tag === undefined) throw new WireError(`${what}: truncated tag`);
    pos = tag[1];
    const number = Number(tag[0] >> 3n);
    const wireType = Number(tag[0] & 7n);
    if (number === 0) throw new WireError(`${what}: field number 0`);
    if (wireType === VARINT) {
      const v = readVarint(buf, pos);
      if (v === undefined) throw new WireError(`${what}: truncated varint in field ${number}`);
      fields.push({ number, wireType, varint: v[0] });
      pos = v[1];
    } else if (wireType === LENGTH_DELIMITED) {
      const len = readVarint(buf, pos);
      if (len === undefined) throw new WireError(`${what}: truncated length of field ${number}`);
      const end = len[1] + Number(len[0]);
      if (end > buf.length) throw new WireError(`${what}: field ${number} runs past the end of the message`);
      fields.push({ number, wireType, bytes: buf.subarray(len[1], end) });
      pos = end;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new WireError(`${what}: unsupported wire type ${wireType} (field ${number})`);
    if (pos > buf.length) throw new WireError(`${what}: truncated fixed-width field ${number}`);
  }
  return fields;
}

/** A known field must carry the wire type its declaration gives it. */
export function expectWireType(field: Field, wireType: number, what: string): void {
  if (field.wireType !== wireType) throw new WireError(`${what}: field ${field.number} has wire type ${field.wireType}, expected ${wireType}`);
}

/** int32 on the wire: a varint whose low 32 bits are the two's-complement value. */
export function int32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Java's readStringRequireUtf8 and Go's proto.Unmarshal both reject invalid UTF-8 in a string field. */
export function utf8(bytes: Buffer, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new WireError(`${what}: string field is not valid UTF-8`);
  }
}

export function tag(number: number, wireType: number): Buffer {
  return encodeVarint((number << 3) | wireType);
}

export function varintField(number: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(number, VARINT), encodeVarint(value)]);
}

export function bytesField(number: number, value: Uint8Array): Buffer {
  return Buffer.concat([tag(number, LENGTH_DELIMITED), encodeVarint(value.length), value]);
}

export function stringField(number: number, value: string): Buffer {
  return bytesField(number, Buffer.from(value, "utf8"));
}
