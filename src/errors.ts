// How worker-bridge reports failures: one prefix, one way to turn an error into text, and the exit
// codes. A leaf module: every layer may import it.

/** Every line the bridge itself writes into a job's output or onto stderr starts with this. */
export const MESSAGE_PREFIX = "worker-bridge:";

/** `worker-bridge: <text>`. */
export function bridgeMessage(text: string): string {
  return `${MESSAGE_PREFIX} ${text}`;
}

/** Exit codes of the bridge process, and of jobs the bridge answers itself. */
export const EXIT_CODES = {
  ok: 0,
  /** A failure with no better code: a tool's own failure, an unexpected error in the bridge. */
  failure: 1,
  /** Bad flags or configuration: the bridge never started serving. */
  usage: 2,
  /** A job the bridge could not run (bad argfile, refused sandbox_dir, failing host). */
  bridgeFailure: 2,
} as const;

/**
 * An error the bridge raises on purpose, with a message that already says what to change. Its text
 * is the message alone; a stack would only point at the line that noticed the problem.
 */
export class BridgeError extends Error {
  override name = "BridgeError";
}

/**
 * The one error-to-text of the bridge. The stack policy: a BridgeError (expected, actionable) gives
 * its message; any other Error — a bug in the bridge, a throw in a tool — gives its stack (name,
 * message and frames), because that is what whoever fixes it needs. `{ stack: false }` is for
 * failures of untrusted input reported by a library (a protobuf decoder), whose frames say nothing.
 */
export function errorText(err: unknown, options: { stack?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof BridgeError || options.stack === false) return err.message;
  return err.stack ?? `${err.name}: ${err.message}`;
}
