// The executors' side of the worker protocol, on the tests' independent Bazel client
// (test/support/bazel-client): the emulator never borrows the bridge's own codecs.
import { decodeWorkResponse, encodeWorkRequest, frame, FrameReader, JsonObjectSplitter, parseWorkResponse } from "../../support/bazel-client/index.js";

/** What an executor puts into one WorkRequest. Executors never set `cancel` or `verbosity`. */
export interface ExecutorWorkRequest {
  readonly arguments: readonly string[];
  readonly inputs: readonly { readonly path: string; readonly digest: Uint8Array }[];
  /** Only NativeLink sets it. */
  readonly sandboxDir?: string;
}

/** The response as the executor understood it (the id is never checked by any executor). */
export interface ExecutorWorkResponse {
  readonly exitCode: number;
  readonly output: string;
}

export type WorkerWire = "proto" | "json";

/** Varint-delimited proto, `request_id` 0 (omitted, as proto3 omits defaults). */
export function encodeRequestProto(request: ExecutorWorkRequest): Buffer {
  return frame(encodeWorkRequest({ arguments: request.arguments, inputs: request.inputs, requestId: 0, sandboxDir: request.sandboxDir ?? "" }));
}

/** A small deterministic PRNG so "irregular" spacing is reproducible per seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/**
 * Go `protojson.MarshalOptions{EmitUnpopulated: true}` over BuildBuddy's copy of the worker
 * proto (fields 1–3 only): every field present, `requestId` as a number, bytes as padded base64,
 * and protojson's deliberately unstable spacing (a space after some `:` and `,`), then `\n`.
 */
export function encodeRequestJson(request: ExecutorWorkRequest, random: () => number): Buffer {
  const sp = (): string => (random() < 0.5 ? " " : "");
  const str = (s: string): string => JSON.stringify(s);
  const args = request.arguments.map(str).join(`,${sp()}`);
  const inputs = request.inputs
    .map((i) => `{"path":${sp()}${str(i.path)},${sp()}"digest":${sp()}${str(Buffer.from(i.digest).toString("base64"))}}`)
    .join(`,${sp()}`);
  let body = `{"arguments":${sp()}[${args}],${sp()}"inputs":${sp()}[${inputs}],${sp()}"requestId":${sp()}0`;
  if (request.sandboxDir !== undefined) body += `,${sp()}"sandboxDir":${sp()}${str(request.sandboxDir)}`;
  return Buffer.from(`${body}}\n`, "utf8");
}

export class ResponseDecodeError extends Error {
  override readonly name = "ResponseDecodeError";
}

/** Incremental reader for the worker's stdout, parsing responses the way the executors do. */
export interface ResponseReader {
  push(chunk: Uint8Array): ExecutorWorkResponse[];
}

export function createResponseReader(wire: WorkerWire): ResponseReader {
  if (wire === "proto") {
    // Go ReadUvarint + ReadFull + proto.Unmarshal; Java parseDelimitedFrom.
    const frames = new FrameReader();
    return {
      push(chunk) {
        return frames.push(chunk).map((body) => {
          try {
            const { exitCode, output } = decodeWorkResponse(body);
            return { exitCode, output };
          } catch (err) {
            throw new ResponseDecodeError(`proto: cannot parse WorkResponse: ${(err as Error).message}`);
          }
        });
      },
    };
  }
  // Go json.Decoder (any whitespace between values) + protojson.Unmarshal{DiscardUnknown: true}.
  const objects = new JsonObjectSplitter();
  const utf8 = new TextDecoder("utf-8");
  return {
    push(chunk) {
      let texts: string[];
      try {
        texts = objects.push(utf8.decode(chunk, { stream: true }));
      } catch (err) {
        throw new ResponseDecodeError(`json: ${(err as Error).message}`);
      }
      return texts.map(parseJsonResponse);
    },
  };
}

/** protojson accepts the JSON name or the proto name; unknown keys are discarded; the id is ignored. */
export function parseJsonResponse(text: string): ExecutorWorkResponse {
  try {
    const { exitCode, output } = parseWorkResponse(text, "protojson");
    return { exitCode, output };
  } catch (err) {
    throw new ResponseDecodeError(`json: ${(err as Error).message}`);
  }
}
