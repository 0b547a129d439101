import { readFileSync, writeFileSync } from "node:fs";

/**
 * Some executors kill every process an action started when the action ends (Bazel's local
 * strategy on Linux; Buildbarn with process-table cleanup). There a daemon started from an action
 * dies with it, and starting one per action would only make every action slower. A daemon that
 * exits cleanly removes its info file; one found dead with its info file still there was killed.
 * After KILLS_BEFORE_PAUSE such deaths within PAUSE_MS, clients stop starting daemons for the key
 * until PAUSE_MS after the last one (docs/daemon.md, "Where it falls back").
 */
export const KILLS_BEFORE_PAUSE = 2;
export const PAUSE_MS = 10 * 60_000;

interface History {
  kills: number[];
}

function read(path: string): History {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as Partial<History>;
    return { kills: Array.isArray(value.kills) ? value.kills.filter((t): t is number => typeof t === "number") : [] };
  } catch {
    return { kills: [] };
  }
}

export function recordKilledDaemon(path: string, now = Date.now()): void {
  const kills = read(path).kills.filter((t) => now - t < PAUSE_MS);
  kills.push(now);
  writeFileSync(path, `${JSON.stringify({ kills })}\n`, { mode: 0o600 });
}

/** Why no daemon should be started now, or undefined when starting one is fine. */
export function startPausedReason(path: string, now = Date.now()): string | undefined {
  const kills = read(path).kills.filter((t) => now - t < PAUSE_MS);
  if (kills.length < KILLS_BEFORE_PAUSE) return undefined;
  const minutes = Math.ceil((PAUSE_MS - (now - Math.max(...kills))) / 60_000);
  return `the last ${kills.length} daemons for this key were killed from outside (an executor that kills detached processes?); not starting another for ${minutes} min — start one outside the build with 'worker-bridge daemon start'`;
}

/** A daemon started explicitly (`daemon start`) clears the pause. */
export function clearKillHistory(path: string): void {
  try {
    writeFileSync(path, `${JSON.stringify({ kills: [] })}\n`, { mode: 0o600 });
  } catch {
    // Best effort: the pause then just runs out.
  }
}
