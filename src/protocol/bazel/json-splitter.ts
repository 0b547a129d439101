import { ProtocolError } from "./protocol-error.js";

export const DEFAULT_MAX_JSON_BYTES = 256 * 1024 * 1024;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** One complete top-level JSON value and the stream offset of its opening brace. */
export interface JsonValueSlice {
  readonly text: string;
  readonly offset: number;
}

export interface JsonSplitterOptions {
  maxValueBytes?: number;
}

/**
 * Splits a byte stream into top-level JSON objects without needing a delimiter: Bazel 4.2.3 writes
 * requests back to back (`{...}{...}`), 5.0+ ends each with `\n`, BuildBuddy spaces them
 * irregularly. Tracks brace depth, string state and escapes; works on bytes because no byte of a
 * multi-byte UTF-8 sequence can be mistaken for an ASCII brace, quote or backslash.
 * The returned strings are complete values for `JSON.parse`; syntax inside a value is left to it.
 */
export class JsonValueSplitter {
  private readonly maxValueBytes: number;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private consumed = 0; // absolute offset of the next byte to scan
  private valueStart = 0; // absolute offset where the current value began
  private failed: ProtocolError | undefined;

  constructor(options: JsonSplitterOptions = {}) {
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_JSON_BYTES;
  }

  /** Stream offset where the value being assembled (or the next one) starts. */
  get offset(): number {
    return this.depth > 0 ? this.valueStart : this.consumed;
  }

  /**
   * Feeds a chunk; returns the values it completes. On bad input it throws a ProtocolError — but
   * values completed earlier in the same chunk are returned first and the error is thrown by the
   * next call, so good requests ahead of garbage are still answered.
   */
  push(chunk: Uint8Array): JsonValueSlice[] {
    if (this.failed) throw this.failed;
    const values: JsonValueSlice[] = [];
    try {
      this.scan(chunk, values);
    } catch (err) {
      if (values.length === 0) throw err;
    }
    return values;
  }

  private scan(chunk: Uint8Array, values: JsonValueSlice[]): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = this.depth > 0 ? 0 : -1; // where the current value begins inside `buf`
    for (let i = 0; i < buf.length; i++) {
      const byte = buf[i]!;
      if (this.depth === 0) {
        if (isJsonWhitespace(byte)) continue;
        if (byte !== OPEN_BRACE) {
          this.fail(
            "malformed-json",
            `expected '{' to start a JSON message, got ${describeByte(byte)}`,
            this.consumed + i,
          );
        }
        this.depth = 1;
        this.valueStart = this.consumed + i;
        start = i;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const tail = buf.subarray(start, i + 1);
          const whole = this.partBytes === 0 ? tail : Buffer.concat([...this.parts, tail]);
          this.parts = [];
          this.partBytes = 0;
          this.checkSize(whole.length);
          values.push({ text: whole.toString("utf8"), offset: this.valueStart });
          start = -1;
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      const rest = buf.subarray(start);
      this.parts.push(rest);
      this.partBytes += rest.length;
      this.checkSize(this.partBytes);
    }
    this.consumed += buf.length;
  }

  /** Declares end of input; throws when a value was left unfinished. */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.depth > 0) {
      this.fail(
        "truncated-frame",
        `truncated JSON message at end of input (${this.partBytes} byte(s), ${this.depth} unclosed bracket(s))`,
        this.valueStart,
      );
    }
  }

  private checkSize(bytes: number): void {
    if (bytes > this.maxValueBytes) {
      this.fail(
        "json-too-large",
        `JSON message exceeds the ${this.maxValueBytes}-byte limit (--max-message-mb)`,
        this.valueStart,
      );
    }
  }

  private fail(code: ProtocolError["code"], message: string, offset: number): never {
    this.failed = new ProtocolError(code, message, offset);
    throw this.failed;
  }
}

function describeByte(byte: number): string {
  if (byte >= 0x20 && byte < 0x7f) return `'${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, "0")}`;
}
