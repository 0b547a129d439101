/**
 * Reads WorkResponses the way Bazel's JsonWorkerProtocol does (docs/protocol/bazel-worker.md §2.2): a
 * lenient stream of objects separated by whitespace or nothing; only exitCode, output and
 * requestId are read; a duplicate key or a null value is an error; other keys are skipped.
 * Written independently of the bridge's own JSON code so that it can catch its bugs.
 */
export interface GsonResponse {
  exitCode: number;
  output: string;
  requestId: number;
}

export class GsonStreamError extends Error {}

export class GsonStreamReader {
  private buf = "";

  push(text: string): GsonResponse[] {
    this.buf += text;
    const out: GsonResponse[] = [];
    for (;;) {
      const start = skipWs(this.buf, 0);
      if (start >= this.buf.length) {
        this.buf = "";
        return out;
      }
      const end = findObjectEnd(this.buf, start);
      if (end < 0) {
        this.buf = this.buf.slice(start);
        return out;
      }
      out.push(parseResponse(this.buf.slice(start, end)));
      this.buf = this.buf.slice(end);
    }
  }

  get pending(): string {
    return this.buf;
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && " \t\r\n".includes(s[i]!)) i++;
  return i;
}

/** Index just past the object starting at `start`, or -1 if incomplete. Throws on a non-object. */
function findObjectEnd(s: string, start: number): number {
  if (s[start] !== "{") throw new GsonStreamError(`Expected BEGIN_OBJECT but was ${JSON.stringify(s.slice(start, start + 20))}`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function parseResponse(text: string): GsonResponse {
  const p = new Parser(text);
  const value = p.parseObject(true);
  p.end();
  const seen = value.keys;
  const result: GsonResponse = { exitCode: 0, output: "", requestId: 0 };
  for (const [key, v] of value.entries) {
    if (key !== "exitCode" && key !== "output" && key !== "requestId") continue;
    if (v === null) throw new GsonStreamError(`null value for ${key}`);
    if (key === "output") {
      if (typeof v !== "string") throw new GsonStreamError(`output is not a string: ${JSON.stringify(v)}`);
      result.output = v;
    } else {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new GsonStreamError(`${key} is not an int: ${JSON.stringify(v)}`);
      result[key] = v;
    }
  }
  void seen;
  return result;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  end(): void {
    this.i = skipWs(this.s, this.i);
    if (this.i !== this.s.length) throw new GsonStreamError("trailing data in object");
  }

  parseObject(top: boolean): { keys: Set<string>; entries: [string, Json][] } {
    this.expect("{");
    const keys = new Set<string>();
    const entries: [string, Json][] = [];
    this.ws();
    if (this.peek() === "}") {
      this.i++;
      return { keys, entries };
    }
    for (;;) {
      this.ws();
      const key = this.parseString();
      if (top && keys.has(key)) throw new GsonStreamError(`Work response cannot have more than one ${key}`);
      keys.add(key);
      this.ws();
      this.expect(":");
      entries.push([key, this.parseValue()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return { keys, entries };
      if (c !== ",") throw new GsonStreamError(`expected , or } at ${this.i - 1}`);
    }
  }

  private parseValue(): Json {
    this.ws();
    const c = this.peek();
    if (c === "{") {
      const o: { [k: string]: Json } = {};
      for (const [k, v] of this.parseObject(false).entries) o[k] = v;
      return o;
    }
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
        if (d !== ",") throw new GsonStreamError("expected , or ]");
      }
    }
    if (c === '"') return this.parseString();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) throw new GsonStreamError(`unexpected value at ${this.i}`);
    this.i += m[0].length;
    return JSON.parse(m[0]) as Json;
  }

  private parseString(): string {
    const start = this.i;
    this.expect('"');
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === "\\") this.i++;
      else if (c === '"') return JSON.parse(this.s.slice(start, this.i)) as string;
    }
    throw new GsonStreamError("unterminated string");
  }

  private ws(): void {
    this.i = skipWs(this.s, this.i);
  }
  private peek(): string | undefined {
    return this.s[this.i];
  }
  private expect(c: string): void {
    if (this.s[this.i] !== c) throw new GsonStreamError(`expected ${c} at ${this.i}`);
    this.i++;
  }
}
