/**
 * A strict JSON reader for a stream of top-level objects, separated by whitespace or by nothing
 * (Bazel 4.2.3 writes `}{`). Written for the tests alone, independently of the bridge's splitter.
 */

export class JsonStreamError extends Error {
  override readonly name = "JsonStreamError";
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Splits text into complete top-level objects; keeps an incomplete tail for the next push. The
 * scan resumes where it stopped, so a large object arriving in many chunks is scanned once.
 */
export class JsonObjectSplitter {
  private buf = "";
  /** Scan state inside the unfinished object at the start of `buf`. */
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (;;) {
      if (this.pos === 0) {
        const start = skipWs(this.buf, 0);
        this.buf = this.buf.slice(start);
        if (this.buf.length === 0) return out;
        if (this.buf[0] !== "{") throw new JsonStreamError(`Expected BEGIN_OBJECT but was ${JSON.stringify(this.buf.slice(0, 20))}`);
      }
      const end = this.scan();
      if (end < 0) return out;
      out.push(this.buf.slice(0, end));
      this.buf = this.buf.slice(end);
      this.pos = 0;
    }
  }

  get pending(): string {
    return this.buf;
  }

  /** Index just past the object at the start of `buf`, or -1 if it is incomplete so far. */
  private scan(): number {
    const s = this.buf;
    for (let i = this.pos; i < s.length; i++) {
      const c = s[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
    }
    this.pos = s.length;
    return -1;
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && " \t\r\n".includes(s[i]!)) i++;
  return i;
}

/** The top-level members of one object text, in order; a repeated key is an error, as in Bazel's reader. */
export function parseObjectMembers(text: string): [string, Json][] {
  const p = new Parser(text);
  const entries = p.parseObject(true);
  p.end();
  return entries;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  end(): void {
    this.i = skipWs(this.s, this.i);
    if (this.i !== this.s.length) throw new JsonStreamError("trailing data in object");
  }

  parseObject(top: boolean): [string, Json][] {
    this.expect("{");
    const keys = new Set<string>();
    const entries: [string, Json][] = [];
    this.ws();
    if (this.peek() === "}") {
      this.i++;
      return entries;
    }
    for (;;) {
      this.ws();
      const key = this.parseString();
      if (top && keys.has(key)) throw new JsonStreamError(`Work response cannot have more than one ${key}`);
      keys.add(key);
      this.ws();
      this.expect(":");
      entries.push([key, this.parseValue()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return entries;
      if (c !== ",") throw new JsonStreamError(`expected , or } at ${this.i - 1}`);
    }
  }

  private parseValue(): Json {
    this.ws();
    const c = this.peek();
    if (c === "{") return Object.fromEntries(this.parseObject(false)) as { [k: string]: Json };
    if (c === "[") {
      this.i++;
      const arr: Json[] = [];
      this.ws();
      if (this.peek() === "]") {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.parseValue());
        this.ws();
        const d = this.s[this.i++];
        if (d === "]") return arr;
        if (d !== ",") throw new JsonStreamError("expected , or ]");
      }
    }
    if (c === '"') return this.parseString();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) throw new JsonStreamError(`unexpected value at ${this.i}`);
    this.i += m[0].length;
    return JSON.parse(m[0]) as Json;
  }

  private parseString(): string {
    const start = this.i;
    this.expect('"');
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === "\\") this.i++;
      else if (c === '"') {
        try {
          return JSON.parse(this.s.slice(start, this.i)) as string;
        } catch (err) {
          throw new JsonStreamError(`bad string at ${start}: ${(err as Error).message}`);
        }
      }
    }
    throw new JsonStreamError("unterminated string");
  }

  private ws(): void {
    this.i = skipWs(this.s, this.i);
  }
  private peek(): string | undefined {
    return this.s[this.i];
  }
  private expect(c: string): void {
    if (this.s[this.i] !== c) throw new JsonStreamError(`expected ${c} at ${this.i}`);
    this.i++;
  }
}
