import { afterAll } from "vitest";
import { createExecutor, killAllChildren, type AnyProfileOptions, type ProfileName, type RemoteExecutor } from "./emulator/index.js";

/**
 * Creates an executor for a test file and guarantees cleanup: every worker is stopped in afterAll
 * and anything still alive is then SIGKILLed by pid, so a hung worker fails a test, never hangs it.
 */
export function useExecutor(profile: ProfileName, options: AnyProfileOptions = {}): RemoteExecutor {
  const executor = createExecutor(profile, options);
  afterAll(async () => {
    await executor.close();
    killAllChildren();
  });
  return executor;
}

/** Probe output lines, whichever stream the profile puts `output` on, trailing newline dropped. */
export function diagnostics(result: { stdout: string; stderr: string }): string[] {
  const text = result.stderr.length > 0 ? result.stderr : result.stdout;
  return text.replace(/\n$/, "").split("\n");
}

export function pidOf(result: { stdout: string; stderr: string }): number {
  const line = diagnostics(result).find((l) => l.startsWith("pid="));
  if (line === undefined) throw new Error(`no pid= line in ${JSON.stringify(result)}`);
  return Number(line.slice(4));
}
