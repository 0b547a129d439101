import { bytesField, expectWireType, int32, LENGTH_DELIMITED, readFields, stringField, utf8, VARINT, varintField } from "./proto-fields.js";

/** blaze.worker.WorkRequest, fields 1–6 (Input: path = 1, digest = 2). */
export interface WorkRequest {
  arguments?: readonly string[];
  inputs?: readonly { path: string; digest: Uint8Array }[];
  requestId?: number;
  cancel?: boolean;
  verbosity?: number;
  sandboxDir?: string;
}

/** blaze.worker.WorkResponse, fields 1–4. */
export interface WorkResponse {
  exitCode: number;
  output: string;
  requestId: number;
  wasCancelled: boolean;
}

/** proto3 binary, fields in number order, defaults omitted, as every protobuf runtime writes it. */
export function encodeWorkRequest(req: WorkRequest): Buffer {
  const parts: Buffer[] = [];
  for (const arg of req.arguments ?? []) parts.push(stringField(1, arg));
  for (const input of req.inputs ?? []) {
    const inner: Buffer[] = [];
    if (input.path !== "") inner.push(stringField(1, input.path));
    if (input.digest.length > 0) inner.push(bytesField(2, input.digest));
    parts.push(bytesField(2, Buffer.concat(inner)));
  }
  if ((req.requestId ?? 0) !== 0) parts.push(varintField(3, req.requestId!));
  if (req.cancel === true) parts.push(varintField(4, 1));
  if ((req.verbosity ?? 0) !== 0) parts.push(varintField(5, req.verbosity!));
  if ((req.sandboxDir ?? "") !== "") parts.push(stringField(6, req.sandboxDir!));
  return Buffer.concat(parts);
}

/** Reads back what a test (or an emulated executor) put on a worker's stdin. */
export function decodeWorkRequest(body: Uint8Array): Required<WorkRequest> {
  const what = "WorkRequest";
  const req = { arguments: [] as string[], inputs: [] as { path: string; digest: Uint8Array }[], requestId: 0, cancel: false, verbosity: 0, sandboxDir: "" };
  for (const f of readFields(body, what)) {
    switch (f.number) {
      case 1:
        expectWireType(f, LENGTH_DELIMITED, what);
        req.arguments.push(utf8(f.bytes!, what));
        break;
      case 2: {
        expectWireType(f, LENGTH_DELIMITED, what);
        const input = { path: "", digest: new Uint8Array(0) };
        for (const g of readFields(f.bytes!, "Input")) {
          expectWireType(g, LENGTH_DELIMITED, "Input");
          if (g.number === 1) input.path = utf8(g.bytes!, "Input");
          else if (g.number === 2) input.digest = new Uint8Array(g.bytes!);
        }
        req.inputs.push(input);
        break;
      }
      case 3:
        expectWireType(f, VARINT, what);
        req.requestId = int32(f.varint!);
        break;
      case 4:
        expectWireType(f, VARINT, what);
        req.cancel = f.varint! !== 0n;
        break;
      case 5:
        expectWireType(f, VARINT, what);
        req.verbosity = int32(f.varint!);
        break;
      case 6:
        expectWireType(f, LENGTH_DELIMITED, what);
        req.sandboxDir = utf8(f.bytes!, what);
        break;
      default:
      // Unknown fields are skipped, as protobuf parsers do.
    }
  }
  return req;
}

/**
 * A WorkResponse as Bazel's ProtoWorkerProtocol (Java) and the executors' Go code read it: strict
 * UTF-8 in `output`, and here also the declared wire type on every known field, which no correct
 * writer violates.
 */
export function decodeWorkResponse(body: Uint8Array): WorkResponse {
  const what = "WorkResponse";
  const r: WorkResponse = { exitCode: 0, output: "", requestId: 0, wasCancelled: false };
  for (const f of readFields(body, what)) {
    switch (f.number) {
      case 1:
        expectWireType(f, VARINT, what);
        r.exitCode = int32(f.varint!);
        break;
      case 2:
        expectWireType(f, LENGTH_DELIMITED, what);
        r.output = utf8(f.bytes!, what);
        break;
      case 3:
        expectWireType(f, VARINT, what);
        r.requestId = int32(f.varint!);
        break;
      case 4:
        expectWireType(f, VARINT, what);
        r.wasCancelled = f.varint! !== 0n;
        break;
      default:
    }
  }
  return r;
}

/** For tests that play a worker: the response as a proto3 writer would put it. */
export function encodeWorkResponse(r: Partial<WorkResponse>): Buffer {
  const parts: Buffer[] = [];
  if ((r.exitCode ?? 0) !== 0) parts.push(varintField(1, r.exitCode!));
  if ((r.output ?? "") !== "") parts.push(stringField(2, r.output!));
  if ((r.requestId ?? 0) !== 0) parts.push(varintField(3, r.requestId!));
  if (r.wasCancelled === true) parts.push(varintField(4, 1));
  return Buffer.concat(parts);
}
