import { AsyncLocalStorage } from "node:async_hooks";

/** Collects what one job prints. */
export class OutputSink {
  private readonly parts: string[] = [];
  /** UTF-16 code units kept so far (string length, not bytes). */
  private chars = 0;
  private dropped = 0;

  constructor(private readonly limitChars = 64 * 1024 * 1024) {}

  append(text: string): void {
    if (this.chars + text.length > this.limitChars) {
      // A runaway printer must not take the worker down with it; keep the head and say so.
      this.dropped += text.length;
      return;
    }
    this.parts.push(text);
    this.chars += text.length;
  }

  text(): string {
    const joined = this.parts.join("");
    if (this.dropped === 0) return joined;
    return `${joined}\n[worker-bridge: ${this.dropped} more characters of output dropped after ${this.limitChars}]\n`;
  }
}

const currentSink = new AsyncLocalStorage<OutputSink>();

type WriteFn = typeof process.stdout.write;

let installed: { protocolWrite: WriteFn; stderrWrite: WriteFn } | undefined;

function toText(chunk: unknown, encoding: unknown): string {
  if (typeof chunk === "string") return chunk;
  if (chunk instanceof Uint8Array) {
    const enc = typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8";
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(enc);
  }
  return String(chunk);
}

function patchedWrite(fallback: WriteFn): WriteFn {
  return function write(this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const callback = typeof encoding === "function" ? encoding : cb;
    const sink = currentSink.getStore();
    if (sink) {
      sink.append(toText(chunk, encoding));
      if (typeof callback === "function") queueMicrotask(() => (callback as (e?: Error) => void)());
      return true;
    }
    return (fallback as (...a: unknown[]) => boolean)(chunk, encoding, cb);
  } as WriteFn;
}

/**
 * Takes fd 1 away from everything but the protocol writer: inside a job, `console.*`,
 * `process.stdout` and `process.stderr` go to that job's sink (AsyncLocalStorage keeps concurrent
 * jobs apart); outside a job, stray stdout is redirected to stderr. Returns the only function that
 * may still write to the real stdout. Idempotent.
 *
 * Each stream is patched when something first uses it, not here: creating `process.stderr` on a
 * pipe costs a Node process about 2 ms, a one-shot run that prints nothing never needs it, and its
 * start is what a one-shot build pays per action (docs/daemon.md, "A fast client").
 */
export function installOutputCapture(): { protocolWrite: (data: Uint8Array | string, cb?: (err?: Error | null) => void) => boolean } {
  if (!installed) {
    let realStdout: WriteFn | undefined;
    let realStderr: WriteFn | undefined;
    const stderrWrite = ((...args: unknown[]) => {
      stderr();
      return (realStderr as (...a: unknown[]) => boolean)(...args);
    }) as WriteFn;
    const protocolWrite = ((...args: unknown[]) => {
      stdout();
      return (realStdout as (...a: unknown[]) => boolean)(...args);
    }) as WriteFn;
    const stdout = onFirstUse("stdout", (stream) => {
      realStdout = stream.write.bind(stream) as WriteFn;
      stream.write = patchedWrite(stderrWrite);
    });
    const stderr = onFirstUse("stderr", (stream) => {
      realStderr = stream.write.bind(stream) as WriteFn;
      stream.write = patchedWrite(stderrWrite);
    });
    installed = { protocolWrite, stderrWrite };
  }
  const write = installed.protocolWrite;
  return {
    protocolWrite: (data, cb) => (cb ? write(data, cb) : write(data)),
  };
}

/** Patches `process[name]` when it is first used; returns a function that creates it now. */
function onFirstUse(name: "stdout" | "stderr", patch: (stream: NodeJS.WriteStream) => void): () => NodeJS.WriteStream {
  const descriptor = Object.getOwnPropertyDescriptor(process, name);
  const create = descriptor?.get;
  let stream: NodeJS.WriteStream | undefined;
  const get = (): NodeJS.WriteStream => {
    if (stream === undefined) {
      stream = (create ? create.call(process) : process[name]) as NodeJS.WriteStream;
      patch(stream);
    }
    return stream;
  };
  if (create !== undefined && descriptor?.configurable === true) {
    Object.defineProperty(process, name, { configurable: true, enumerable: descriptor.enumerable ?? true, get });
  } else {
    get();
  }
  return get;
}

/** Runs `fn` with everything it prints (also from async continuations) collected into `sink`. */
export function runCaptured<T>(sink: OutputSink, fn: () => T): T {
  return currentSink.run(sink, fn);
}

/** Writes to the real stderr even inside a job (for bridge logs). */
export function writeStderr(text: string): void {
  if (installed) installed.stderrWrite(text);
  else process.stderr.write(text);
}
