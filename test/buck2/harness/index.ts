// The fake-Buck2 harness (docs/protocol/buck2-worker.md §15): building blocks other suites reuse.
export { FakeBuck2, HarnessFailure, type ActionResult, type CommandReport, type Executor, type FakeBuck2Options, type WorkerAction, type WorkerRef } from "./fake-buck2.js";
export { WorkerProcess, UNAVAILABLE_RETRY_DELAYS_MS, delay, type CallOutcome, type InitFailure, type WorkerEndReport, type WorkerInfoSpec } from "./worker-process.js";
export { connectToWorker, connectDelays, connectTimeoutMessage, CONNECT_DEADLINE_MS, type ConnectOutcome } from "./connect.js";
export { createWorkerDir, HarnessSetupError, UNIX_SOCKET_PATH_LIMIT, type WorkerDir } from "./worker-dir.js";
export { spawnWorker, exitCodeOf, type ExitInfo, type SpawnedWorker } from "./spawn-worker.js";
export {
  BUCK2_CHANNEL_OPTIONS,
  EXECUTE_PATH,
  EXEC_PATH,
  EXECUTE_STREAM_PATH,
  assertExecuteResponseUtf8,
  callExecute,
  executeCommand,
  isServiceError,
  openChannel,
  openExecuteStream,
  serializeCommand,
  serializeEvent,
  deserializeResponse,
} from "./grpc-client.js";
export { FifoSemaphore } from "./fifo-semaphore.js";
export { descendants, isAlive, killQuietly, processGroupMembers } from "./process-tree.js";
export { BRIDGE_CLI, bridgeExe } from "./bridge.js";
