import { connect, type Socket } from "node:net";
import { LengthPrefixedDecoder } from "../protocol/daemon/length-prefix.js";
import {
  DaemonMessageError,
  decodeDaemonMessage,
  encodeDaemonWire,
  MAX_DAEMON_MESSAGE_BYTES,
  type ClientMessage,
  type DaemonMessage,
} from "../protocol/daemon/messages.js";

/** How long a daemon may take to acknowledge a message before the client gives up on it. */
export const FIRST_REPLY_TIMEOUT_MS = 30_000;

/** A connected socket, or the errno code of why there is none (ENOENT, ECONNREFUSED, ...). */
export type ConnectResult = { socket: Socket } | { error: string };

/** Connects to a daemon's socket; never rejects. */
export function connectDaemon(path: string, timeoutMs = 2000): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ error: "ETIMEDOUT" });
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve({ socket });
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ error: err.code ?? err.message });
    });
  });
}

/**
 * Sends one message and collects the daemon's replies until it closes the connection. `lost`
 * says the connection ended abnormally; `malformed` that the daemon said something we cannot read.
 */
export function exchange(
  socket: Socket,
  message: ClientMessage,
  /** A daemon that does not even acknowledge within this long is hung (stopped, deadlocked). */
  firstReplyTimeoutMs = FIRST_REPLY_TIMEOUT_MS,
): Promise<{ messages: DaemonMessage[]; lost?: string }> {
  return new Promise((resolve) => {
    const decoder = new LengthPrefixedDecoder(MAX_DAEMON_MESSAGE_BYTES);
    const messages: DaemonMessage[] = [];
    let done = false;
    // Only the first reply is bounded: after `accepted` the job runs as long as the tool needs,
    // and the executor's own timeout (which kills this client) bounds that.
    const silence = setTimeout(() => finish(`no reply within ${firstReplyTimeoutMs} ms`), firstReplyTimeoutMs);
    const finish = (lost?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(silence);
      socket.destroy();
      resolve(lost === undefined ? { messages } : { messages, lost });
    };
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          messages.push(decodeDaemonMessage(frame));
          clearTimeout(silence);
        }
      } catch (err) {
        finish(`the daemon sent something unreadable (${err instanceof DaemonMessageError ? err.message : (err as Error).message})`);
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => finish(`connection error: ${err.code ?? err.message}`));
    socket.on("close", () => finish(decoder.bufferedBytes > 0 ? "the connection closed mid-message" : undefined));
    socket.write(encodeDaemonWire(message));
  });
}
