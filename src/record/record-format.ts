// The on-disk format of `--record DIR`: one directory per bridge process (several workers may
// share DIR), a session.json naming the tool, and one JSON file per request. Env values are
// written because replay needs them, so files are created owner-only; they are never logged.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { JobEnd, JobOrigin } from "../core/job.js";

export const RECORD_FORMAT = "worker-bridge-record/1";

export interface RecordedSession {
  format: typeof RECORD_FORMAT;
  /** `--tool` as given, and the module URL it resolved to. */
  tool: string;
  toolModule: string;
  startupArgs: string[];
  /** The bridge's cwd (a relative `--tool` path resolves against it). */
  bridgeCwd: string;
  host: string;
  pid: number;
  node: string;
  startedAt: string;
}

export interface RecordedRequest {
  /** Order in which requests reached the tool (arrival order for ones that never did). */
  seq: number;
  origin: JobOrigin;
  id: number;
  args: string[];
  /** Undefined when the request never reached the tool (cancelled while queued, bad argfile). */
  expandedArgs?: string[];
  inputs: { path: string; digestHex: string }[];
  cwd: string;
  /** The request's own env entries (Buck2 sends some). */
  requestEnv: Record<string, string>;
  /** The whole env the tool saw; needed to reproduce it. May hold secrets: never print it. */
  env?: Record<string, string>;
  timeoutMs?: number;
  verbosity: number;
  result: { exitCode: number; output: string; end: JobEnd; durationMs: number; hostPid?: number };
}

export function requestFileName(seq: number): string {
  return `request-${String(seq).padStart(6, "0")}.json`;
}

/** Session directories under `dir`: itself when it is one, else its children that are, oldest first. */
export function findSessions(dir: string): string[] {
  if (existsSync(join(dir, "session.json"))) return [dir];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((p) => existsSync(join(p, "session.json")))
    .sort();
}

export function readSession(dir: string): RecordedSession {
  const session = JSON.parse(readFileSync(join(dir, "session.json"), "utf8")) as RecordedSession;
  if (session.format !== RECORD_FORMAT) {
    throw new Error(`${dir}/session.json: unknown record format ${JSON.stringify(session.format)} (expected ${RECORD_FORMAT})`);
  }
  return session;
}

export function readRequests(dir: string): RecordedRequest[] {
  return readdirSync(dir)
    .filter((n) => /^request-\d+\.json$/.test(n))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(dir, n), "utf8")) as RecordedRequest);
}
