/** Machine-readable reasons a byte stream could not be decoded. */
import { BridgeError } from "../../errors.js";
export type ProtocolErrorCode =
  | "frame-too-large"
  | "varint-overflow"
  | "truncated-frame"
  | "malformed-message"
  | "malformed-json"
  | "json-too-large";

/**
 * A wire-level decoding failure. `offset` is the absolute byte offset in the input stream where
 * the bad frame or value starts, so the user can find it in a capture.
 */
export class ProtocolError extends BridgeError {
  override readonly name = "ProtocolError";
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte offset ${offset})`);
  }
}
