import { Metadata, type handleBidiStreamingCall } from "@grpc/grpc-js";
import { internalError, type RequestRunner } from "./request-runner.js";
import {
  executeResponse,
  executeResponseStream,
  type Decoded,
  type ExecuteCommandStream,
  type ExecuteResponseStream,
} from "../../protocol/buck2/codec.js";
import { bridgeMessage, EXIT_CODES } from "../../errors.js";

/**
 * `worker.WorkerStreaming/ExecuteStream`, used by Buck2 with `WorkerInfo(streaming = True)`
 * (docs/protocol/buck2-worker.md §5.4, §6.4): headers go out at once because Buck2 waits for them before sending anything;
 * commands run concurrently; every answer echoes its `id` and always sets `response` (Buck2
 * panics otherwise); on half-close the jobs in flight finish, are answered, then the stream ends.
 */
export function executeStreamHandler(
  runner: RequestRunner,
): handleBidiStreamingCall<Decoded<ExecuteCommandStream>, ExecuteResponseStream> {
  return (call) => {
    call.sendMetadata(new Metadata());
    const abort = new AbortController();
    let inFlight = 0;
    let clientDone = false;
    let ended = false;

    const maybeEnd = (): void => {
      if (ended || inFlight > 0 || call.cancelled) return;
      if (clientDone || runner.stopping.aborted) {
        ended = true;
        runner.stopping.removeEventListener("abort", maybeEnd);
        call.end();
      }
    };
    runner.stopping.addEventListener("abort", maybeEnd, { once: true });

    call.on("data", (decoded: Decoded<ExecuteCommandStream>) => {
      if (ended) return;
      if (!decoded.ok) {
        // Without a decodable message there is no id to answer; end the stream loudly.
        ended = true;
        abort.abort(new Error("undecodable ExecuteCommandStream"));
        call.emit("error", internalError(decoded.error));
        return;
      }
      const { id, request } = decoded.message;
      inFlight++;
      const jobId = id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : runner.allocateId();
      const answered = request
        ? runner.run(request, jobId, abort.signal).then(({ response }) => response)
        : Promise.resolve(
            executeResponse({ exitCode: EXIT_CODES.bridgeFailure, stderr: bridgeMessage(`ExecuteCommandStream id ${id} carries no request; nothing was run`) }),
          );
      answered.then(
        (response) => {
          inFlight--;
          if (!call.cancelled && !ended) call.write(executeResponseStream(id, response));
          maybeEnd();
        },
        (err: unknown) => {
          inFlight--;
          if (!call.cancelled && !ended) {
            ended = true;
            call.emit("error", internalError(`stream request ${id} failed inside the bridge`, err));
          }
        },
      );
    });
    call.on("end", () => {
      clientDone = true;
      maybeEnd();
    });
    call.on("cancelled", () => {
      runner.stopping.removeEventListener("abort", maybeEnd);
      abort.abort(new Error("the client cancelled the stream"));
    });
  };
}
