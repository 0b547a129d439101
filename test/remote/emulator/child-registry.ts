import type { ChildProcess } from "node:child_process";

/**
 * Every process the emulator starts, so a test's afterAll (and, as a last resort, process exit)
 * can kill whatever is left by pid: a hung worker must fail a test, never outlive it.
 */
const live = new Map<number, ChildProcess>();
let exitHookInstalled = false;

export function registerChild(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  live.set(pid, child);
  child.once("exit", () => live.delete(pid));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => killAllChildren());
  }
}

export function liveChildPids(): number[] {
  return [...live.keys()];
}

/** SIGKILLs every emulator child still running, by pid. Returns the pids it had to kill. */
export function killAllChildren(): number[] {
  const killed: number[] = [];
  for (const pid of live.keys()) {
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // Already gone.
    }
  }
  live.clear();
  return killed;
}

export function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Resolves true when the child has exited, false when `ms` passed first. */
export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}
