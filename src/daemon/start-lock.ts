import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";

/**
 * The lock one client holds while it starts a key's daemon, so fifty clients arriving at once
 * start one daemon, not fifty (docs/daemon.md, "Starting"). It only saves work: the daemon's bind
 * of the socket path is what guarantees one daemon per key, since a second bind fails.
 */

/** A lock older than this was left by a client that died while starting a daemon. */
export const STALE_LOCK_MS = 30_000;

/**
 * Creates the lock exclusively; false when another client holds it. The pid is written to a file of
 * our own first and then hard-linked into place, so the lock never exists empty: a client reading
 * an empty lock between another's create and write took it for a dead holder's, broke it and
 * started a second daemon.
 */
export function tryAcquireStartLock(path: string): boolean {
  const own = `${path}.${process.pid}.tmp`;
  writeFileSync(own, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(own, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(own);
  }
  return true;
}

/** Removes the lock if it is still ours. */
export function releaseStartLock(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Already gone (broken as stale by another client): nothing to release.
  }
}

/** True when the holder is gone or has held the lock far longer than a start can take. */
export function isStaleStartLock(path: string, now = Date.now()): boolean {
  let pid: number;
  let mtimeMs: number;
  try {
    pid = Number(readFileSync(path, "utf8").trim());
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return false; // gone: not stale, just free
  }
  if (now - mtimeMs > STALE_LOCK_MS) return true;
  // Unreadable contents (a lock from another writer): only its age can tell.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return !isAlive(pid);
}

export function breakStartLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Someone else broke it first.
  }
}

/**
 * Whether a process exists and is not a zombie (EPERM means it exists but is someone else's). A
 * killed daemon whose parent is gone stays a zombie until init reaps it, and some inits never do.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  return procState(pid) !== "Z";
}

/** The state letter from /proc/<pid>/stat, or undefined without /proc. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may itself contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is still the daemon for `key`: alive, and (where /proc exists) running
 * `daemon serve --daemon-key=<key>`, so a recycled pid never passes for our daemon.
 */
export function isDaemonAlive(pid: number, key: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return true; // no /proc (macOS): existence is all we can check
  }
  return cmdline.includes("serve") && cmdline.includes(`--daemon-key=${key}`);
}
