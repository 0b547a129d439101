import { connect as netConnect } from "node:net";
import type { Client } from "@grpc/grpc-js";
import { openChannel } from "./grpc-client.js";
import type { ExitInfo } from "./spawn-worker.js";

/** Buck2's `retrying(50 ms, 500 ms, 60 s, ...)` (docs/protocol/buck2-worker.md §5.2). */
export const CONNECT_FIRST_DELAY_MS = 50;
export const CONNECT_MAX_DELAY_MS = 500;
export const CONNECT_DEADLINE_MS = 60_000;

/** Delays between attempts: 50, 100, 200, 400, 500, 500, ... ms. */
export function* connectDelays(): Generator<number, never> {
  let delay = CONNECT_FIRST_DELAY_MS;
  for (;;) {
    yield delay;
    delay = Math.min(delay * 2, CONNECT_MAX_DELAY_MS);
  }
}

export type ConnectOutcome =
  | { readonly kind: "connected"; readonly client: Client; readonly attempts: number[] }
  | { readonly kind: "early-exit"; readonly exit: ExitInfo; readonly attempts: number[] }
  | { readonly kind: "timeout"; readonly message: string; readonly attempts: number[] };

export interface ConnectOptions {
  readonly socketPath: string;
  /** The child's exit; the connection races it (docs/protocol/buck2-worker.md §5.3). */
  readonly exited: Promise<ExitInfo>;
  /** 60 s in Buck2; tests shorten it to exercise the timeout path quickly. */
  readonly deadlineMs?: number;
}

function tryUnixConnect(path: string): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (err) => resolve(err));
  });
}

function waitForReady(client: Client, deadline: number): Promise<Error | undefined> {
  return new Promise((resolve) => client.waitForReady(deadline, (err) => resolve(err ?? undefined)));
}

/** `Worker failed to connect within `60.00` seconds` uses Rust's `{:.2}` on the seconds. */
export function connectTimeoutMessage(deadlineMs: number, lastError: string): string {
  return `Error initializing worker: Worker failed to connect within \`${(deadlineMs / 1000).toFixed(2)}\` seconds: ${lastError}`;
}

/**
 * Connects like Buck2 (docs/protocol/buck2-worker.md §5, §15 step 3): try at once, then after 50, 100, 200, 400 ms and every
 * 500 ms until the deadline, racing the child's exit. Records each attempt's time (ms since start).
 */
export async function connectToWorker(options: ConnectOptions): Promise<ConnectOutcome> {
  const deadlineMs = options.deadlineMs ?? CONNECT_DEADLINE_MS;
  const start = Date.now();
  const attempts: number[] = [];
  let exit: ExitInfo | undefined;
  void options.exited.then((e) => (exit = e));
  let wake: (() => void) | undefined;
  void options.exited.then(() => wake?.());
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const delays = connectDelays();
  let lastError = "no attempt made";
  for (;;) {
    if (exit) return { kind: "early-exit", exit, attempts };
    attempts.push(Date.now() - start);
    const err = await tryUnixConnect(options.socketPath);
    if (exit) return { kind: "early-exit", exit, attempts };
    if (!err) {
      const client = openChannel(options.socketPath);
      const ready = await Promise.race([waitForReady(client, start + deadlineMs), options.exited.then(() => "exited" as const)]);
      if (ready === "exited") {
        client.close();
        return { kind: "early-exit", exit: exit ?? (await options.exited), attempts };
      }
      if (ready === undefined) return { kind: "connected", client, attempts };
      client.close();
      lastError = `transport error: ${ready.message}`;
    } else {
      lastError = `transport error: ${err.message}`;
    }
    const remaining = start + deadlineMs - Date.now();
    if (remaining <= 0) return { kind: "timeout", message: connectTimeoutMessage(deadlineMs, lastError), attempts };
    await sleep(Math.min(delays.next().value, remaining));
    if (Date.now() - start >= deadlineMs && !exit) {
      return { kind: "timeout", message: connectTimeoutMessage(deadlineMs, lastError), attempts };
    }
  }
}
