import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { BridgeError } from "../errors.js";

/** Why the daemon directory cannot be used; the message says what to fix. */
export class DaemonDirError extends BridgeError {
  override readonly name = "DaemonDirError";
}

/**
 * Where a user's daemons live: `--daemon-dir`, else `$XDG_RUNTIME_DIR/worker-bridge`, else
 * `/tmp/worker-bridge-<uid>`. Never `$TMPDIR`: executors point it into each action's own
 * directory, so no two actions would find the same daemon (docs/daemon.md).
 */
export function defaultDaemonDir(env: NodeJS.ProcessEnv, uid: number): string {
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (runtimeDir !== undefined && isAbsolute(runtimeDir)) return join(runtimeDir, "worker-bridge");
  return `/tmp/worker-bridge-${uid}`;
}

/**
 * Creates the directory (mode 0700) when missing and checks it is a real directory (not a
 * symlink) owned by `uid` that no one else can write or read. Throws DaemonDirError otherwise:
 * a socket in a directory someone else controls could be swapped for theirs.
 */
export function ensurePrivateDir(dir: string, uid: number): void {
  if (!isAbsolute(dir)) throw new DaemonDirError(`daemon directory ${dir} must be an absolute path`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DaemonDirError(`cannot create daemon directory ${dir}: ${(err as Error).message}`);
  }
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new DaemonDirError(`cannot inspect daemon directory ${dir}: ${(err as Error).message}`);
  }
  if (st.isSymbolicLink()) throw new DaemonDirError(`daemon directory ${dir} is a symbolic link; refusing it (use a real directory owned by you with mode 0700)`);
  if (!st.isDirectory()) throw new DaemonDirError(`daemon directory ${dir} is not a directory`);
  if (st.uid !== uid) {
    throw new DaemonDirError(`daemon directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}); refusing it (remove it or pass --daemon-dir)`);
  }
  if ((st.mode & 0o077) !== 0) {
    // Looser bits were someone's choice (we create it 0700): say so rather than quietly tighten.
    throw new DaemonDirError(
      `daemon directory ${dir} has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}; it must be 0700 (run: chmod 700 ${dir})`,
    );
  }
}

/** Makes a file ours-only; used on the socket after bind. */
export function restrictToOwner(path: string): void {
  chmodSync(path, 0o600);
}

/** The files one key's daemon uses inside the daemon directory. */
export interface DaemonPaths {
  readonly socket: string;
  /** Held (created exclusively) by the client that is starting the daemon. */
  readonly lock: string;
  /** Written by the running daemon, removed when it exits cleanly. */
  readonly info: string;
  readonly log: string;
  /** Recent unclean deaths of this key's daemons (see start-history.ts). */
  readonly deaths: string;
}

export function daemonPaths(dir: string, fileStem: string): DaemonPaths {
  const base = join(dir, fileStem);
  return { socket: `${base}.sock`, lock: `${base}.lock`, info: `${base}.json`, log: `${base}.log`, deaths: `${base}.deaths` };
}

/** One line per in-process fallback, so a silently slow fleet can be noticed (`daemon status`). */
export function fallbackLogPath(dir: string): string {
  return join(dir, "fallbacks.log");
}
