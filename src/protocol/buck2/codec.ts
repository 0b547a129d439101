import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { ServiceDefinition } from "@grpc/grpc-js";
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
} from "../../gen/buck2/worker_pb.js";
import { errorText } from "../../errors.js";

/**
 * A request message as the handlers receive it. Decoding never throws inside grpc-js (which would
 * answer a bare "Error deserializing request"); a bad message becomes a value the handler can
 * answer with an actionable INTERNAL status.
 */
export type Decoded<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: string };

function decoder<Desc extends DescMessage>(schema: Desc): (bytes: Buffer) => Decoded<MessageShape<Desc>> {
  return (bytes) => {
    try {
      return { ok: true, message: fromBinary(schema, bytes) };
    } catch (err) {
      const detail = errorText(err, { stack: false });
      return {
        ok: false,
        error: `could not decode a ${bytes.length}-byte ${schema.typeName}: ${detail}; is the client speaking Buck2's worker.proto?`,
      };
    }
  };
}

function encoder<Desc extends DescMessage>(schema: Desc): (message: MessageShape<Desc>) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** The gRPC method paths Buck2 uses (docs/protocol/buck2-worker.md §1.2). */
export const EXECUTE_PATH = "/worker.Worker/Execute";
export const EXEC_PATH = "/worker.Worker/Exec";
export const EXECUTE_STREAM_PATH = "/worker.WorkerStreaming/ExecuteStream";

export const decodeExecuteCommand = decoder(ExecuteCommandSchema);
export const decodeExecuteEvent = decoder(ExecuteEventSchema);
export const decodeExecuteCommandStream = decoder(ExecuteCommandStreamSchema);
export const encodeExecuteResponse = encoder(ExecuteResponseSchema);
export const encodeExecuteResponseStream = encoder(ExecuteResponseStreamSchema);

/** `worker.Worker`, written by hand so grpc-js (de)serializes with the protobuf-es schemas. */
export const workerServiceDefinition = {
  execute: {
    path: EXECUTE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: Decoded<ExecuteCommand>) => (m.ok ? Buffer.from(toBinary(ExecuteCommandSchema, m.message)) : Buffer.alloc(0)),
    requestDeserialize: decodeExecuteCommand,
    responseSerialize: encodeExecuteResponse,
    responseDeserialize: (b: Buffer) => fromBinary(ExecuteResponseSchema, b),
  },
  exec: {
    path: EXEC_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: (m: Decoded<ExecuteEvent>) => (m.ok ? Buffer.from(toBinary(ExecuteEventSchema, m.message)) : Buffer.alloc(0)),
    requestDeserialize: decodeExecuteEvent,
    responseSerialize: encodeExecuteResponse,
    responseDeserialize: (b: Buffer) => fromBinary(ExecuteResponseSchema, b),
  },
} satisfies ServiceDefinition;

/** `worker.WorkerStreaming`: a separate service, as in the proto. */
export const workerStreamingServiceDefinition = {
  executeStream: {
    path: EXECUTE_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: Decoded<ExecuteCommandStream>) =>
      m.ok ? Buffer.from(toBinary(ExecuteCommandStreamSchema, m.message)) : Buffer.alloc(0),
    requestDeserialize: decodeExecuteCommandStream,
    responseSerialize: encodeExecuteResponseStream,
    responseDeserialize: (b: Buffer) => fromBinary(ExecuteResponseStreamSchema, b),
  },
} satisfies ServiceDefinition;

export function executeResponse(init: { exitCode: number; stderr: string; timedOutAfterS?: bigint }): ExecuteResponse {
  return create(ExecuteResponseSchema, init);
}

export function executeResponseStream(id: bigint, response: ExecuteResponse): ExecuteResponseStream {
  return create(ExecuteResponseStreamSchema, { id, response });
}

export type { ExecuteCommand, ExecuteCommandStream, ExecuteEvent, ExecuteResponse, ExecuteResponseStream };
