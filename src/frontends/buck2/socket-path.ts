import { chmod, lstat, stat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import { BridgeError } from "../../errors.js";

/** The WORKER_SOCKET path cannot be served; the message says what to change. */
export class SocketPathError extends BridgeError {
  override readonly name = "SocketPathError";
}

/** sun_path holds 108 bytes on Linux (104 on macOS/BSD), including the terminating NUL. */
export function maxSocketPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === "linux" ? 107 : 103;
}

/** Rejects paths the kernel would refuse or silently truncate (Buck2 keeps them short, docs/protocol/buck2-worker.md §4.4). */
export function checkSocketPathLength(path: string, platform: NodeJS.Platform = process.platform): void {
  const bytes = Buffer.byteLength(path);
  const max = maxSocketPathBytes(platform);
  if (path.length === 0) throw new SocketPathError("WORKER_SOCKET is empty");
  if (bytes > max) {
    throw new SocketPathError(
      `WORKER_SOCKET is ${bytes} bytes long, over the ${max}-byte Unix socket path limit on ${platform}: ${path}. ` +
        "Use a shorter directory (Buck2 itself uses /tmp/buck2_worker/<uuid>-<id>/socket).",
    );
  }
}

/** Whether something is accepting connections on the socket at `path`. */
function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Makes `path` bindable: a stale socket (nothing listening) left by a killed worker is removed; a
 * live socket or any other kind of file is left alone and reported, because it belongs to someone.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  checkSocketPathLength(path);
  let dirMode: number;
  try {
    dirMode = (await stat(dirname(path))).mode;
  } catch {
    throw new SocketPathError(`the directory of WORKER_SOCKET does not exist: ${dirname(path)}`);
  }
  // Anyone could rename our socket away and bind theirs in its place (and receive Buck2's
  // commands); a sticky bit (as on /tmp) stops that, Buck2's own 0755 directory never has it.
  if ((dirMode & 0o002) !== 0 && (dirMode & 0o1000) === 0) {
    throw new SocketPathError(
      `the directory of WORKER_SOCKET ${dirname(path)} is world-writable without the sticky bit (mode ${(dirMode & 0o7777).toString(8)}); ` +
        "anyone could replace the socket. Use a private directory (Buck2 uses /tmp/buck2_worker/<uuid>-<id>/).",
    );
  }
  let stats;
  try {
    stats = await lstat(path);
  } catch {
    return; // nothing there
  }
  if (!stats.isSocket()) {
    throw new SocketPathError(`WORKER_SOCKET ${path} exists and is not a socket; refusing to replace it`);
  }
  if (await isListening(path)) {
    throw new SocketPathError(`another process is already serving on WORKER_SOCKET ${path}`);
  }
  await unlink(path);
}

/** Owner-only: anyone who can connect can run commands as us. */
export async function restrictSocketPermissions(path: string): Promise<void> {
  await chmod(path, 0o600);
}

/** Removes the socket file if it is still the one we bound (same inode). */
export async function removeSocket(path: string, inode: number | undefined): Promise<void> {
  try {
    const stats = await lstat(path);
    if (stats.isSocket() && (inode === undefined || stats.ino === inode)) await unlink(path);
  } catch {
    // Already gone: node removes a pipe's path when its listener closes.
  }
}

export async function socketInode(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).ino;
  } catch {
    return undefined;
  }
}
