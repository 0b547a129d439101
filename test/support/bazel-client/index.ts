// One Bazel-protocol client for every test suite. It imports nothing from src/ (a test checks):
// the bridge's answers are read by code that shares nothing with the code that wrote them.
export { encodeVarint, frame, FrameReader, readVarint, WireError } from "./varint.js";
export { decodeWorkRequest, decodeWorkResponse, encodeWorkRequest, encodeWorkResponse, type WorkRequest, type WorkResponse } from "./messages.js";
export { encodeWorkRequestJson, parseWorkResponse, type JsonLayout, type JsonReading } from "./json-messages.js";
export { JsonObjectSplitter, JsonStreamError } from "./json-values.js";
export { ResponseStream, type Wire } from "./response-stream.js";
export { BazelWorker, childPids, killAllWorkers, type Exit, type WorkerSpawn } from "./worker.js";
