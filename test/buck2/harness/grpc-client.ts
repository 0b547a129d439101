import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import {
  ExecuteCommandSchema,
  ExecuteCommandStreamSchema,
  ExecuteEventSchema,
  ExecuteResponseSchema,
  ExecuteResponseStreamSchema,
  type ExecuteCommand,
  type ExecuteCommandStream,
  type ExecuteEvent,
  type ExecuteResponse,
  type ExecuteResponseStream,
} from "../../../src/gen/buck2/worker_pb.js";

export const EXECUTE_PATH = "/worker.Worker/Execute";
export const EXEC_PATH = "/worker.Worker/Exec";
export const EXECUTE_STREAM_PATH = "/worker.WorkerStreaming/ExecuteStream";

/**
 * The channel Buck2 opens (docs/protocol/buck2-worker.md §5.1, §5.4): authority `[::]:50051` from tonic's dummy URI,
 * unlimited message sizes both ways, and no client-side retries beyond Buck2's own.
 */
export const BUCK2_CHANNEL_OPTIONS = {
  "grpc.default_authority": "[::]:50051",
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
  "grpc.enable_retries": 0,
} as const;

export function openChannel(socketPath: string): Client {
  return new Client(`unix:${socketPath}`, credentials.createInsecure(), BUCK2_CHANNEL_OPTIONS);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * prost rejects a `string` field that is not valid UTF-8 and the reply becomes a gRPC error
 * (docs/protocol/buck2-worker.md §1.3). Walks the raw bytes so the check cannot be hidden by a lenient decoder.
 */
export function assertExecuteResponseUtf8(bytes: Uint8Array): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 2 && wireType === WireType.LengthDelimited) {
      try {
        strictUtf8.decode(reader.bytes());
      } catch {
        throw new Error("failed to decode Protobuf message: ExecuteResponse.stderr: invalid string value: data is not UTF-8 encoded");
      }
    } else reader.skip(wireType, field);
  }
}

function assertExecuteResponseStreamUtf8(bytes: Uint8Array): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) assertExecuteResponseUtf8(reader.bytes());
    else reader.skip(wireType, field);
  }
}

export const serializeCommand = (m: ExecuteCommand): Buffer => Buffer.from(toBinary(ExecuteCommandSchema, m));
export const serializeCommandStream = (m: ExecuteCommandStream): Buffer => Buffer.from(toBinary(ExecuteCommandStreamSchema, m));
export const serializeEvent = (m: ExecuteEvent): Buffer => Buffer.from(toBinary(ExecuteEventSchema, m));

export function deserializeResponse(bytes: Buffer): ExecuteResponse {
  assertExecuteResponseUtf8(bytes);
  return fromBinary(ExecuteResponseSchema, bytes);
}

export function deserializeResponseStream(bytes: Buffer): ExecuteResponseStream {
  assertExecuteResponseStreamUtf8(bytes);
  return fromBinary(ExecuteResponseStreamSchema, bytes);
}

/** Buck2's per-action call: unary, with no deadline (docs/protocol/buck2-worker.md §6.3). */
export function callExecute(client: Client, command: ExecuteCommand): Promise<ExecuteResponse> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(EXECUTE_PATH, serializeCommand, deserializeResponse, command, new Metadata(), {}, (err, value) => {
      if (err) reject(err);
      else resolve(value!);
    });
  });
}

export function openExecuteStream(client: Client): ClientDuplexStream<ExecuteCommandStream, ExecuteResponseStream> {
  return client.makeBidiStreamRequest(EXECUTE_STREAM_PATH, serializeCommandStream, deserializeResponseStream, new Metadata(), {});
}

export interface ExecuteCommandInit {
  argv: (string | Uint8Array)[];
  env?: [string, string][];
  timeoutS?: number;
}

const utf8 = new TextEncoder();

export function executeCommand(init: ExecuteCommandInit): ExecuteCommand {
  return create(ExecuteCommandSchema, {
    argv: init.argv.map((a) => (typeof a === "string" ? utf8.encode(a) : a)),
    env: (init.env ?? []).map(([key, value]) => ({ key: utf8.encode(key), value: utf8.encode(value) })),
    ...(init.timeoutS !== undefined ? { timeoutS: BigInt(init.timeoutS) } : {}),
  });
}

export function isServiceError(err: unknown): err is ServiceError {
  return typeof err === "object" && err !== null && "code" in err && "details" in err;
}
