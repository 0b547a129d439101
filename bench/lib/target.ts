import type { ChildProcess } from "node:child_process";
import type { Samples } from "./stats.js";

/** A worker under test, started and warm. */
export interface Target {
  /** Root pid whose process tree is charged for RSS (undefined when the target samples itself). */
  readonly pid: number | undefined;
  /** Sends one request from `slot` (0 ≤ slot < in-flight); resolves when its answer arrived and checked out. */
  request(slot: number): Promise<void>;
  /** Peak RSS the target measured itself (one-shot: each run is a separate process). */
  peakRssBytes?(): number;
  close(): Promise<void>;
}

/** A prerequisite is missing (front door or host not implemented yet, optional file absent). */
export class SkipError extends Error {
  override readonly name = "SkipError";
}

/** One side of a comparison: a baseline or the bridge in one configuration. */
export interface Variant {
  readonly label: string;
  start(): Promise<Target>;
}

/** Keeps the tail of a child's stderr, so a failure can say why. */
export function captureStderrTail(child: ChildProcess, maxChars = 4000): () => string {
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    tail = (tail + s).slice(-maxChars);
  });
  return () => tail;
}

/** The last non-empty line of a child's stderr: the reason given in a "skipped:" cell. */
export function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.at(-1) ?? "";
}

/**
 * Runs `count` requests with `inFlight` outstanding at a time and times each one. Rejects if any
 * request fails, or when the batch takes longer than `deadlineMs` (a hung worker fails the
 * variant instead of hanging the run).
 */
export async function runBatch(target: Target, count: number, inFlight: number, deadlineMs: number): Promise<Samples> {
  const latenciesUs = new Array<number>(count);
  let next = 0;
  const started = performance.now();
  const lane = async (slot: number): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      await target.request(slot);
      latenciesUs[i] = (performance.now() - t0) * 1000;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`batch of ${count} did not finish within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: Math.min(inFlight, count) }, (_, s) => lane(s))), deadline]);
  } finally {
    clearTimeout(timer);
  }
  return { latenciesUs, requests: count, wallMs: performance.now() - started };
}

/** Kills a child by pid (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), graceMs);
  });
  if ((await Promise.race([exited, timeout])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
  clearTimeout(timer);
}
