/** Keeps request latencies for the exit summary's percentiles; bounded so it cannot grow forever. */
export class LatencyRecorder {
  private samples: number[] = [];
  private seen = 0;
  constructor(private readonly capacity = 10_000) {}

  add(ms: number): void {
    this.seen++;
    if (this.samples.length < this.capacity) this.samples.push(ms);
    else {
      // Reservoir sampling keeps an unbiased sample of every request seen.
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.capacity) this.samples[slot] = ms;
    }
  }

  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[index];
  }
}

/**
 * A monotonic clock in milliseconds. Not `performance.now()`: its first use loads Node's perf_hooks
 * (about ten internal modules), a measurable share of a one-shot run's start (docs/daemon.md, "A
 * fast client").
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
