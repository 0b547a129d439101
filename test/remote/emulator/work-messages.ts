import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WorkRequestSchema, WorkResponseSchema } from "../../../src/gen/bazel/worker_protocol_pb.js";
import { FrameDecoder, frameMessage } from "../../../src/protocol/bazel/framing.js";
import { JsonValueSplitter } from "../../../src/protocol/bazel/json-splitter.js";

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
  const msg = create(WorkRequestSchema, {
    arguments: [...request.arguments],
    inputs: request.inputs.map((i) => ({ path: i.path, digest: i.digest })),
    requestId: 0,
    sandboxDir: request.sandboxDir ?? "",
  });
  return frameMessage(toBinary(WorkRequestSchema, msg));
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
    const frames = new FrameDecoder();
    return {
      push(chunk) {
        return frames.push(chunk).map((f) => {
          try {
            const msg = fromBinary(WorkResponseSchema, f.body);
            return { exitCode: msg.exitCode, output: msg.output };
          } catch (err) {
            throw new ResponseDecodeError(`proto: cannot parse WorkResponse: ${(err as Error).message}`);
          }
        });
      },
    };
  }
  // Go json.Decoder (any whitespace between values) + protojson.Unmarshal{DiscardUnknown: true}.
  const splitter = new JsonValueSplitter();
  return {
    push(chunk) {
      return splitter.push(chunk).map((v) => parseJsonResponse(v.text));
    },
  };
}

/** protojson accepts the JSON name or the proto name; unknown keys are discarded; the id is ignored. */
export function parseJsonResponse(text: string): ExecutorWorkResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ResponseDecodeError(`json: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ResponseDecodeError("json: WorkResponse is not an object");
  const obj = value as Record<string, unknown>;
  if ("exitCode" in obj && "exit_code" in obj) throw new ResponseDecodeError("json: duplicate field exitCode/exit_code");
  const rawExit = obj.exitCode ?? obj.exit_code ?? 0;
  const exitCode = typeof rawExit === "string" && /^-?\d+$/.test(rawExit) ? Number(rawExit) : rawExit;
  if (typeof exitCode !== "number" || !Number.isInteger(exitCode)) throw new ResponseDecodeError(`json: invalid value for int32 exitCode: ${JSON.stringify(rawExit)}`);
  const output = obj.output ?? "";
  if (typeof output !== "string") throw new ResponseDecodeError(`json: invalid value for string output: ${JSON.stringify(output)}`);
  return { exitCode, output };
}
