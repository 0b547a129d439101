// How many threads one TypeScript 7 compile may use when the user did not say (--tsgo-threads).
// tsgo alone would take every core; a build system schedules each worker action as one CPU and runs
// several at once. The worker's share is what nobody else is using when the compile starts: the
// cores minus the other runnable tasks (Linux: the running count in /proc/loadavg). A lone
// incremental action on an idle machine gets every core; one of many parallel actions gets one.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Beyond this, tsgo's checkers and parsers gain little for one project. */
const MAX_THREADS = 8;

/** The fixed share where the running count cannot be read: half the machine, 1 to 4. */
export function halfTheCores(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, Math.floor(cores / 2)));
}

/**
 * Cores not used by other runnable tasks right now, or undefined where that cannot be read.
 * `loadavg` is the text of /proc/loadavg ("0.50 0.40 0.30 R/T pid"; R counts this process too).
 */
export function idleCores(cores: number, loadavg: () => string = () => readFileSync("/proc/loadavg", "utf8")): number | undefined {
  let text: string;
  try {
    text = loadavg();
  } catch {
    return undefined;
  }
  const m = /^\S+\s+\S+\s+\S+\s+(\d+)\//.exec(text);
  if (!m) return undefined;
  const others = Math.max(0, Number(m[1]) - 1);
  return Math.max(1, cores - others);
}

export function tsgoThreadsNow(cores = availableParallelism(), loadavg?: () => string): number {
  const idle = idleCores(cores, loadavg);
  return Math.min(MAX_THREADS, idle ?? halfTheCores(cores));
}
