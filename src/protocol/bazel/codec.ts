import {
  decodeWorkRequestJson,
  decodeWorkRequestProto,
  encodeWorkResponseJson,
  encodeWorkResponseProto,
  type WorkRequestData,
  type WorkResponseData,
} from "./messages.js";
import { FrameDecoder } from "./framing.js";
import { JsonValueSplitter } from "./json-splitter.js";

export type WorkMessageFormat = "proto" | "json";

/**
 * The wire format behind the Bazel request loop (Bazel's WorkerMessageProcessor idea): the loop
 * never knows whether it speaks proto or JSON.
 */
export interface WorkMessageCodec {
  readonly format: WorkMessageFormat;
  /** Decodes whatever requests `chunk` completes. Throws ProtocolError on bad input. */
  push(chunk: Uint8Array): WorkRequestData[];
  /** End of input: throws when a partial message was left over. */
  end(): void;
  /** One complete response, ready for a single write. */
  encode(response: WorkResponseData): Buffer;
}

/**
 * Decodes items one by one; when one fails, the ones before it are still returned and the error
 * is raised on the next call (and every call after), so good requests ahead of a bad one are
 * answered.
 */
function decodeEach<T>(items: readonly T[], decode: (item: T) => WorkRequestData, state: { error?: unknown }): WorkRequestData[] {
  const out: WorkRequestData[] = [];
  for (const item of items) {
    try {
      out.push(decode(item));
    } catch (err) {
      // Sticky, like the framers under it: after one bad message the codec keeps reporting it, so
      // a caller that pushes again gets the same clear error, never a different one further on.
      state.error = err;
      if (out.length === 0) throw err;
      break;
    }
  }
  return out;
}

export function createCodec(format: WorkMessageFormat, maxMessageBytes: number): WorkMessageCodec {
  if (format === "json") {
    const splitter = new JsonValueSplitter({ maxValueBytes: maxMessageBytes });
    const state: { error?: unknown } = {};
    return {
      format,
      push(chunk) {
        if (state.error !== undefined) throw state.error;
        return decodeEach(splitter.push(chunk), (v) => decodeWorkRequestJson(v.text, v.offset), state);
      },
      end() {
        if (state.error !== undefined) throw state.error;
        splitter.end();
      },
      encode: encodeWorkResponseJson,
    };
  }
  const frames = new FrameDecoder({ maxFrameBytes: maxMessageBytes });
  const state: { error?: unknown } = {};
  return {
    format,
    push(chunk) {
      if (state.error !== undefined) throw state.error;
      return decodeEach(frames.push(chunk), (f) => decodeWorkRequestProto(f.body, f.offset), state);
    },
    end() {
      if (state.error !== undefined) throw state.error;
      frames.end();
    },
    encode: encodeWorkResponseProto,
  };
}
