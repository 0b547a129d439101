import type { handleClientStreamingCall } from "@grpc/grpc-js";
import { internalError, invalidArgument, type RequestRunner } from "./request-runner.js";
import { executeResponse, type Decoded, type ExecuteEvent, type ExecuteResponse } from "../../protocol/buck2/codec.js";

const CANCEL_REASON = "cancelled by an ExecuteCancel event";

/**
 * `worker.Worker/Exec` (client streaming). Buck2 never calls it (docs/protocol/buck2-worker.md §1.2, §9), but its meaning is
 * clear: the first event is the command, a later `cancel` aborts it, and the single response is
 * sent as soon as the job ends, without waiting for the client to half-close.
 */
export function execHandler(runner: RequestRunner): handleClientStreamingCall<Decoded<ExecuteEvent>, ExecuteResponse> {
  return (call, callback) => {
    const abort = new AbortController();
    let started = false;
    let answered = false;
    let cancelRequested = false;
    const answer: typeof callback = (err, value) => {
      if (answered) return;
      answered = true;
      callback(err, value);
    };

    call.on("data", (decoded: Decoded<ExecuteEvent>) => {
      if (answered) return;
      if (!decoded.ok) {
        abort.abort(new Error("undecodable ExecuteEvent"));
        answer(internalError(decoded.error));
        return;
      }
      const data = decoded.message.data;
      if (data.case === "command") {
        if (started) {
          runner.logger.warn("Exec: ignoring a second command event on the same call; one call runs one command");
          return;
        }
        started = true;
        const id = runner.allocateId();
        runner.run(data.value, id, abort.signal).then(
          ({ response, result }) => {
            if (call.cancelled) return;
            if (cancelRequested && result?.end === "cancelled") {
              const note = `worker-bridge: request ${id} was ${CANCEL_REASON}`;
              const stderr = response.stderr.length === 0 ? note : `${response.stderr}${response.stderr.endsWith("\n") ? "" : "\n"}${note}`;
              answer(null, executeResponse({ exitCode: response.exitCode === 0 ? 1 : response.exitCode, stderr }));
              return;
            }
            answer(null, response);
          },
          (err: unknown) => answer(internalError(`request ${id} failed inside the bridge`, err)),
        );
      } else if (data.case === "cancel") {
        if (!started) {
          answer(invalidArgument("Exec: the first event must be a command, got cancel"));
          return;
        }
        cancelRequested = true;
        abort.abort(new Error(CANCEL_REASON));
      } else {
        abort.abort(new Error("empty ExecuteEvent"));
        answer(invalidArgument("Exec: an ExecuteEvent must set `command` or `cancel`"));
      }
    });
    call.on("end", () => {
      if (!started) answer(invalidArgument("Exec: the client half-closed before sending a command"));
    });
    call.on("cancelled", () => abort.abort(new Error("the client cancelled the gRPC call")));
  };
}
