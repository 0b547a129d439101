// WorkRequest and WorkResponse as plain data, shared by the generated-code codec (messages.ts) and
// its hand-written fast path (fast-path.ts).

/** A WorkRequest as plain data, independent of the wire encoding it arrived in. */
export interface WorkRequestData {
  arguments: string[];
  inputs: { path: string; digest: Uint8Array }[];
  requestId: number;
  cancel: boolean;
  verbosity: number;
  sandboxDir: string;
}

export interface WorkResponseData {
  exitCode: number;
  output: string;
  requestId: number;
  wasCancelled?: boolean;
}
