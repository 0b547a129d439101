import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import type { DaemonKeyParts } from "./key.js";

/** What a running daemon writes next to its socket; `daemon status|stop` read it. */
export interface DaemonInfo {
  readonly pid: number;
  readonly key: string;
  readonly parts: DaemonKeyParts;
  readonly socket: string;
  readonly log: string;
  readonly startedAt: string;
}

export function writeDaemonInfo(path: string, info: DaemonInfo): void {
  // Readers must never see half a file: write aside, then rename over.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function readDaemonInfo(path: string): DaemonInfo | undefined {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as Partial<DaemonInfo>;
    if (typeof value.pid !== "number" || typeof value.key !== "string" || typeof value.socket !== "string") return undefined;
    return value as DaemonInfo;
  } catch {
    return undefined;
  }
}

/** Removes the info file if it still describes `pid` (a successor may have replaced it). */
export function removeDaemonInfo(path: string, pid: number): void {
  if (readDaemonInfo(path)?.pid !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
