import { status, type ServiceError } from "@grpc/grpc-js";
import type { Dispatcher } from "../../core/dispatcher.js";
import type { Result } from "../../core/job.js";
import type { Logger } from "../../core/logger.js";
import { commandToJob, resultToResponse } from "./command-to-job.js";
import { executeResponse, type ExecuteCommand, type ExecuteResponse } from "../../protocol/buck2/codec.js";
import { bridgeMessage, errorText } from "../../errors.js";

/** What every Buck2 service handler shares. */
export interface RequestRunnerOptions {
  readonly dispatcher: Dispatcher;
  /** The project root (Buck2 starts the worker there, docs/protocol/buck2-worker.md §4.2). */
  readonly cwd: string;
  readonly logger: Logger;
}

/**
 * Runs ExecuteCommands for the three services and knows when the worker stops taking work.
 * Handlers translate their call shape; this translates commands into jobs and results into responses.
 */
export class RequestRunner {
  private readonly stopController = new AbortController();
  private nextRequestId = 0;

  constructor(private readonly options: RequestRunnerOptions) {}

  get logger(): Logger {
    return this.options.logger;
  }

  /** Aborts once shutdown has begun: no new work is started after that. */
  get stopping(): AbortSignal {
    return this.stopController.signal;
  }

  stop(reason: string): void {
    if (!this.stopController.signal.aborted) this.stopController.abort(new Error(reason));
  }

  /** A fresh id for requests that carry none (unary Execute, Exec); used in logs only. */
  allocateId(): number {
    return this.nextRequestId++;
  }

  /** Runs one command; resolves exactly once with the response to send, never rejects. */
  async run(command: ExecuteCommand, id: number, signal: AbortSignal): Promise<{ response: ExecuteResponse; result?: Result }> {
    if (this.stopping.aborted) {
      // A response, not a gRPC status: UNAVAILABLE would make Buck2 re-send (docs/protocol/buck2-worker.md §6.3).
      return {
        response: executeResponse({
          exitCode: 1,
          stderr: `worker-bridge: request ${id} was not run because the worker is shutting down (${describeReason(this.stopping.reason)})`,
        }),
      };
    }
    const job = commandToJob(command, { id, cwd: this.options.cwd, signal });
    const result = await this.options.dispatcher.submit(job);
    return { response: resultToResponse(result, command), result };
  }
}

function describeReason(reason: unknown): string {
  return errorText(reason, { stack: false });
}

/** An INTERNAL status with an actionable message; never UNAVAILABLE (Buck2 retries that, docs/protocol/buck2-worker.md §6.3). */
export function internalError(what: string, err?: unknown): Partial<ServiceError> {
  const detail = err === undefined ? "" : `: ${errorText(err)}`;
  return { code: status.INTERNAL, details: bridgeMessage(`${what}${detail}`) };
}

export function invalidArgument(what: string): Partial<ServiceError> {
  return { code: status.INVALID_ARGUMENT, details: bridgeMessage(what) };
}
