import type { Job, Result } from "../../core/job.js";
import { executeResponse, type ExecuteCommand, type ExecuteResponse } from "../../protocol/buck2/codec.js";

// ignoreBOM keeps a leading U+FEFF in an argument instead of silently dropping it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Buck2 sends UTF-8 in practice (docs/protocol/buck2-worker.md §1.3); anything else is decoded with replacement characters. */
export function decodeBytes(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

export interface JobFields {
  /** For logs: the stream id, or a per-connection counter for unary calls. */
  readonly id: number;
  /** The project root: Buck2's paths and `@argfile`s are relative to it (docs/protocol/buck2-worker.md §6.2). */
  readonly cwd: string;
  /** Fires when the gRPC call is cancelled, an Exec cancel arrives, or the stream's client goes away. */
  readonly signal: AbortSignal;
  readonly verbosity?: number;
}

/**
 * ExecuteCommand → Job (docs/protocol/buck2-worker.md §6.2): argv is the action's arguments with `@argfile`s unexpanded (the
 * dispatcher expands them against `cwd`); env is this request's data only, overlaid per job and
 * never applied to the bridge's own process; `timeout_s` is enforced by us because Buck2 does not.
 */
export function commandToJob(command: ExecuteCommand, fields: JobFields): Job {
  const env: Record<string, string> = {};
  for (const entry of command.env) env[decodeBytes(entry.key)] = decodeBytes(entry.value);
  return {
    id: fields.id,
    origin: "buck2",
    args: command.argv.map(decodeBytes),
    inputs: [],
    cwd: fields.cwd,
    env,
    ...(command.timeoutS !== undefined && command.timeoutS > 0n ? { timeoutMs: secondsToMs(command.timeoutS) } : {}),
    signal: fields.signal,
    verbosity: fields.verbosity ?? 0,
  };
}

function secondsToMs(seconds: bigint): number {
  // Beyond setTimeout's range a timeout can never fire anyway; clamp rather than overflow to 1 ms.
  const ms = Number(seconds) * 1000;
  return Math.min(ms, 2_147_483_647);
}

/**
 * Result → ExecuteResponse (docs/protocol/buck2-worker.md §1.3, §7.1): `timed_out_after_s` is present only for a real
 * timeout, because Buck2 treats its mere presence as "timed out"; `stderr` is a proto string and
 * must be valid UTF-8 or prost fails the whole reply.
 */
export function resultToResponse(result: Result, command: Pick<ExecuteCommand, "timeoutS">): ExecuteResponse {
  const stderr = result.output.toWellFormed();
  const exitCode = toInt32(result.exitCode);
  if (result.end === "timed-out") {
    return executeResponse({ exitCode: exitCode === 0 ? 1 : exitCode, stderr, timedOutAfterS: command.timeoutS ?? 0n });
  }
  return executeResponse({ exitCode, stderr });
}

function toInt32(code: number): number {
  if (!Number.isFinite(code)) return 1;
  return Math.max(-2_147_483_648, Math.min(2_147_483_647, Math.trunc(code)));
}
