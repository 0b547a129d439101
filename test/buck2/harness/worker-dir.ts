import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The per-worker directory Buck2 creates (docs/protocol/buck2-worker.md §4.4, §15 step 1). */
export interface WorkerDir {
  readonly dir: string;
  readonly socketPath: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

/** sun_path is 108 bytes including the NUL, so a usable path is at most 107 bytes. */
export const UNIX_SOCKET_PATH_LIMIT = 108;

export class HarnessSetupError extends Error {
  override readonly name = "HarnessSetupError";
}

/**
 * Creates `<root>/buck2_worker/<uuid>-<id>/` with empty `stdout` and `stderr` files, failing if the
 * directory exists (Buck2's `WorkerDirectoryExists`). The worker creates `socket` itself.
 */
export function createWorkerDir(root: string, traceId: string, workerId: number): WorkerDir {
  const base = join(root, "buck2_worker");
  mkdirSync(base, { recursive: true });
  const dir = join(base, `${traceId}-${workerId}`);
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new HarnessSetupError(`WorkerDirectoryExists: ${dir}`);
    throw err;
  }
  const socketPath = join(dir, "socket");
  if (Buffer.byteLength(socketPath) >= UNIX_SOCKET_PATH_LIMIT) {
    throw new HarnessSetupError(
      `socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes; Buck2 keeps it under ${UNIX_SOCKET_PATH_LIMIT} (use a root under /tmp)`,
    );
  }
  const stdoutPath = join(dir, "stdout");
  const stderrPath = join(dir, "stderr");
  writeFileSync(stdoutPath, "");
  writeFileSync(stderrPath, "");
  return { dir, socketPath, stdoutPath, stderrPath };
}
