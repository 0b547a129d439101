import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StartMarker {
  /** A probe argument (`--write=PATH=1`): put it before the step that must be running. */
  readonly arg: string;
  readonly path: string;
  /** Resolves once the tool has run the argument, i.e. the job is running in the tool now. */
  reached(timeoutMs?: number): Promise<void>;
}

/**
 * Tests that act on a running job (cancel it, kill its process, stop the worker) wait for the job
 * to say it started, not for a guessed number of milliseconds that a loaded machine can exceed.
 */
export function startMarker(): StartMarker {
  const dir = mkdtempSync(join(tmpdir(), "wb-started-"));
  const path = join(dir, "started");
  return {
    arg: `--write=${path}=1`,
    path,
    async reached(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(path)) {
        if (Date.now() > deadline) throw new Error(`the job did not start within ${timeoutMs} ms (${path} never appeared)`);
        await new Promise((r) => setTimeout(r, 10));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
