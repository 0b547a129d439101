import { create, fromBinary, fromJson, toBinary, type JsonValue } from "@bufbuild/protobuf";
import {
  WorkRequestSchema,
  WorkResponseSchema,
  type WorkRequest,
} from "../../gen/bazel/worker_protocol_pb.js";
import { ProtocolError } from "./protocol-error.js";
import type { WorkRequestData, WorkResponseData } from "./work-data.js";
import { frameMessage } from "./framing.js";
import { decodeWorkRequestFast, encodeWorkResponseFast } from "./fast-path.js";

export type { WorkRequestData, WorkResponseData } from "./work-data.js";

function toData(msg: WorkRequest): WorkRequestData {
  return {
    arguments: msg.arguments,
    inputs: msg.inputs.map((i) => ({ path: i.path, digest: i.digest })),
    requestId: msg.requestId,
    cancel: msg.cancel,
    verbosity: msg.verbosity,
    sandboxDir: msg.sandboxDir,
  };
}

/** Decodes one binary WorkRequest (the frame body, without its length prefix). Unknown fields are skipped. */
export function decodeWorkRequestProto(body: Uint8Array, offset = 0): WorkRequestData {
  const plain = decodeWorkRequestFast(body);
  if (plain !== undefined) return plain;
  try {
    return toData(fromBinary(WorkRequestSchema, body, { readUnknownFields: false }));
  } catch (err) {
    throw new ProtocolError(
      "malformed-message",
      `cannot decode a ${body.length}-byte WorkRequest: ${(err as Error).message}`,
      offset,
    );
  }
}

/** Decodes one JSON WorkRequest. Accepts lowerCamelCase and proto names; unknown keys are ignored. */
export function decodeWorkRequestJson(text: string, offset = 0): WorkRequestData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError("malformed-json", `invalid JSON WorkRequest: ${(err as Error).message}`, offset);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("malformed-json", "a JSON WorkRequest must be an object", offset);
  }
  try {
    return toData(fromJson(WorkRequestSchema, value as JsonValue, { ignoreUnknownFields: true }));
  } catch (err) {
    throw new ProtocolError("malformed-json", `invalid JSON WorkRequest: ${(err as Error).message}`, offset);
  }
}

/** The whole length-prefixed frame for one binary WorkResponse, ready for a single write. */
export function encodeWorkResponseProto(response: WorkResponseData): Buffer {
  const output = response.output.toWellFormed();
  const plain = encodeWorkResponseFast(response, output);
  if (plain !== undefined) return plain;
  const msg = create(WorkResponseSchema, {
    exitCode: response.exitCode | 0,
    output,
    requestId: response.requestId | 0,
    wasCancelled: response.wasCancelled === true,
  });
  return frameMessage(toBinary(WorkResponseSchema, msg));
}

/**
 * One compact JSON WorkResponse plus `\n`. Keys are written explicitly: a first response shorter
 * than 5 bytes (`{}`) hangs Bazel 4.2.3's lenient reader, snake_case keys are silently ignored, and
 * `wasCancelled` is only written when it is true.
 */
export function encodeWorkResponseJson(response: WorkResponseData): Buffer {
  const body: Record<string, unknown> = {
    exitCode: response.exitCode | 0,
    output: response.output.toWellFormed(),
    requestId: response.requestId | 0,
  };
  if (response.wasCancelled === true) body.wasCancelled = true;
  return Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
}
