/** What ThreadHost passes a tool thread as its workerData. */
export interface ToolThreadConfig {
  /** Tells the single-file build's entry which role this thread plays (src/bundle-main.ts). */
  readonly role: "tool-thread";
  readonly toolModule: string;
  readonly startupArgs: readonly string[];
  /** Measure the heap after each job (only when a memory budget is set). */
  readonly reportHeap: boolean;
}
