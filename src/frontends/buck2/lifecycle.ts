/** Why the worker is stopping. */
export type StopReason = "SIGTERM" | "SIGINT" | "parent-exited";

export interface StopWatcher {
  /** Resolves with the first reason to stop. */
  readonly stopped: Promise<StopReason>;
  dispose(): void;
}

export interface StopWatcherOptions {
  /** How often to check that the parent (Buck2's forkserver) is still alive; 0 disables. */
  parentPollMs: number;
}

/**
 * Buck2 ends a worker with SIGTERM to its pid and SIGKILL 10 s later (docs/protocol/buck2-worker.md §10). A daemon that dies
 * without doing so leaves us reparented; like JavaCD we notice by polling our parent pid.
 */
export function watchForStop(options: StopWatcherOptions): StopWatcher {
  let resolveStopped!: (reason: StopReason) => void;
  const stopped = new Promise<StopReason>((r) => (resolveStopped = r));
  const onTerm = (): void => resolveStopped("SIGTERM");
  const onInt = (): void => resolveStopped("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  const initialParent = process.ppid;
  let timer: NodeJS.Timeout | undefined;
  // Already orphaned (parent pid 1) means there is no parent to watch.
  if (options.parentPollMs > 0 && initialParent > 1) {
    timer = setInterval(() => {
      if (process.ppid !== initialParent) resolveStopped("parent-exited");
    }, options.parentPollMs);
    timer.unref();
  }
  return {
    stopped,
    dispose() {
      clearInterval(timer);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
    },
  };
}
