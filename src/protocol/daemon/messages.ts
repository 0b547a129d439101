import { BridgeError } from "../../errors.js";
import { encodeLengthPrefixed } from "./length-prefix.js";

/**
 * The one-shot client <-> warm daemon wire (docs/daemon.md): 4-byte length-prefixed UTF-8 JSON
 * objects on a Unix socket. Every message carries `v`; a peer of another version is answered
 * with `refused` (daemon) or abandoned for an in-process run (client), never half-understood.
 */
export const DAEMON_PROTOCOL_VERSION = 1;

/** Messages are small (argv + env + output); anything bigger is not our peer. */
export const MAX_DAEMON_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Run one request as the client would have run it in-process. */
export interface RunRequest {
  readonly type: "run";
  /** The key the client computed; a daemon serving another key refuses. */
  readonly key: string;
  /**
   * Where the client's bridge is (the bundle file, or the package's `dist/`): the daemon checks
   * its content against the build digest in the key before answering.
   */
  readonly bridge: string;
  /** Absolute directory the request runs in (argfiles and relative paths resolve against it). */
  readonly cwd: string;
  /** The request's arguments, argfiles not yet expanded. */
  readonly argv: readonly string[];
  /** The client's whole environment: the job sees exactly this. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface StatusRequest {
  readonly type: "status";
}

export interface StopRequest {
  readonly type: "stop";
}

export type ClientMessage = RunRequest | StatusRequest | StopRequest;

/** The daemon took the request; from here a lost connection means it died mid-request. */
export interface Accepted {
  readonly type: "accepted";
  readonly pid: number;
}

/** The daemon will not run the request (other key, other version, shutting down). */
export interface Refused {
  readonly type: "refused";
  readonly reason: string;
}

/** Tool output for the client's stderr. */
export interface Output {
  readonly type: "output";
  readonly text: string;
}

/** The last message of a run: the tool's exit code. */
export interface Exit {
  readonly type: "exit";
  readonly code: number;
}

/** What `worker-bridge daemon status` shows for one daemon. */
export interface StatusReply {
  readonly type: "status";
  readonly pid: number;
  readonly key: string;
  readonly tool: string;
  readonly startupArgs: readonly string[];
  readonly startedAt: string;
  readonly requests: number;
  readonly inFlight: number;
  readonly idleTimeoutMs: number;
}

export interface Stopping {
  readonly type: "stopping";
  readonly pid: number;
}

export type DaemonMessage = Accepted | Refused | Output | Exit | StatusReply | Stopping;

/** A message that is not valid JSON, not an object of a known type, or of another version. */
export class DaemonMessageError extends BridgeError {
  override readonly name = "DaemonMessageError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One framed message, ready for the socket. */
export function encodeDaemonWire(message: ClientMessage | DaemonMessage): Uint8Array {
  return encodeLengthPrefixed(encoder.encode(JSON.stringify({ v: DAEMON_PROTOCOL_VERSION, ...message })));
}

function parseObject(frame: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(frame));
  } catch (err) {
    throw new DaemonMessageError(`not a daemon protocol message (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DaemonMessageError("not a daemon protocol message (expected a JSON object)");
  }
  const obj = value as Record<string, unknown>;
  if (obj.v !== DAEMON_PROTOCOL_VERSION) {
    throw new DaemonMessageError(`daemon protocol version ${JSON.stringify(obj.v)} is not ${DAEMON_PROTOCOL_VERSION}`);
  }
  return obj;
}

function str(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== "string") throw new DaemonMessageError(`${String(obj.type)}: "${field}" must be a string`);
  return v;
}

function int(obj: Record<string, unknown>, field: string): number {
  const v = obj[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new DaemonMessageError(`${String(obj.type)}: "${field}" must be an integer`);
  return v;
}

function strings(obj: Record<string, unknown>, field: string): string[] {
  const v = obj[field];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw new DaemonMessageError(`${String(obj.type)}: "${field}" must be an array of strings`);
  }
  return v as string[];
}

function stringRecord(obj: Record<string, unknown>, field: string): Record<string, string> {
  const v = obj[field];
  if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.values(v).every((s) => typeof s === "string")) {
    throw new DaemonMessageError(`${String(obj.type)}: "${field}" must be an object of strings`);
  }
  // A fresh null-prototype copy: a "__proto__" key in the client's env stays an ordinary entry.
  return Object.assign(Object.create(null) as Record<string, string>, v);
}

/** Decodes what a client sent. Throws DaemonMessageError, never anything else. */
export function decodeClientMessage(frame: Uint8Array): ClientMessage {
  const obj = parseObject(frame);
  switch (obj.type) {
    case "run": {
      const timeout = obj.timeoutMs;
      if (timeout !== undefined && (typeof timeout !== "number" || !Number.isSafeInteger(timeout) || timeout < 0)) {
        throw new DaemonMessageError('run: "timeoutMs" must be a non-negative integer');
      }
      return {
        type: "run",
        key: str(obj, "key"),
        bridge: str(obj, "bridge"),
        cwd: str(obj, "cwd"),
        argv: strings(obj, "argv"),
        env: stringRecord(obj, "env"),
        ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
      };
    }
    case "status":
    case "stop":
      return { type: obj.type };
    default:
      throw new DaemonMessageError(`unknown client message type ${JSON.stringify(obj.type)}`);
  }
}

/** Decodes what a daemon sent. Throws DaemonMessageError, never anything else. */
export function decodeDaemonMessage(frame: Uint8Array): DaemonMessage {
  const obj = parseObject(frame);
  switch (obj.type) {
    case "accepted":
      return { type: "accepted", pid: int(obj, "pid") };
    case "refused":
      return { type: "refused", reason: str(obj, "reason") };
    case "output":
      return { type: "output", text: str(obj, "text") };
    case "exit":
      return { type: "exit", code: int(obj, "code") };
    case "stopping":
      return { type: "stopping", pid: int(obj, "pid") };
    case "status":
      return {
        type: "status",
        pid: int(obj, "pid"),
        key: str(obj, "key"),
        tool: str(obj, "tool"),
        startupArgs: strings(obj, "startupArgs"),
        startedAt: str(obj, "startedAt"),
        requests: int(obj, "requests"),
        inFlight: int(obj, "inFlight"),
        idleTimeoutMs: int(obj, "idleTimeoutMs"),
      };
    default:
      throw new DaemonMessageError(`unknown daemon message type ${JSON.stringify(obj.type)}`);
  }
}
