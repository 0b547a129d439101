// `worker-bridge/bazel`: the Bazel persistent-worker codecs. They know nothing of processes:
// bytes in, WorkRequests out; WorkResponses in, bytes out (docs/protocol/bazel-worker.md).
export { createCodec, type WorkMessageFormat, type WorkMessageCodec } from "./codec.js";
export { DEFAULT_MAX_FRAME_BYTES, encodeVarint32, FrameDecoder, frameMessage, type Frame, type FrameDecoderOptions } from "./framing.js";
export { DEFAULT_MAX_JSON_BYTES, JsonValueSplitter, type JsonSplitterOptions, type JsonValueSlice } from "./json-splitter.js";
export {
  decodeWorkRequestJson,
  decodeWorkRequestProto,
  encodeWorkResponseJson,
  encodeWorkResponseProto,
  type WorkRequestData,
  type WorkResponseData,
} from "./messages.js";
export { ProtocolError, type ProtocolErrorCode } from "./protocol-error.js";
