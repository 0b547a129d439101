import type { handleUnaryCall } from "@grpc/grpc-js";
import { internalError, type RequestRunner } from "./request-runner.js";
import type { Decoded, ExecuteCommand, ExecuteResponse } from "../../protocol/buck2/codec.js";

/**
 * `worker.Worker/Execute`: the unary call Buck2 makes once per action (docs/protocol/buck2-worker.md §6.3). A tool failure
 * is an exit code in the response; a cancelled call (RST_STREAM) aborts the job and sends nothing.
 */
export function executeHandler(runner: RequestRunner): handleUnaryCall<Decoded<ExecuteCommand>, ExecuteResponse> {
  return (call, callback) => {
    const decoded = call.request;
    if (!decoded.ok) {
      callback(internalError(decoded.error));
      return;
    }
    const id = runner.allocateId();
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort(new Error("the client cancelled the gRPC call")));
    if (runner.logger.enabled("debug")) runner.logger.debug("Execute", { id, authority: call.getHost() });
    runner.run(decoded.message, id, abort.signal).then(
      ({ response }) => {
        if (!call.cancelled) callback(null, response);
      },
      (err: unknown) => callback(internalError(`request ${id} failed inside the bridge`, err)),
    );
  };
}
