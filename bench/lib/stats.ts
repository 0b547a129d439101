/** Latency samples of one variant, in microseconds, plus the wall time they took. */
export interface Samples {
  latenciesUs: number[];
  requests: number;
  wallMs: number;
}

export interface Summary {
  requests: number;
  medianUs: number;
  p99Us: number;
  throughputPerS: number;
}

export function emptySamples(): Samples {
  return { latenciesUs: [], requests: 0, wallMs: 0 };
}

export function addBatch(into: Samples, batch: Samples): void {
  for (const l of batch.latenciesUs) into.latenciesUs.push(l);
  into.requests += batch.requests;
  into.wallMs += batch.wallMs;
}

/** Nearest-rank percentile: the smallest sample with at least p % of samples at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(s: Samples): Summary {
  const sorted = Float64Array.from(s.latenciesUs).sort();
  const arr = Array.from(sorted);
  return {
    requests: s.requests,
    medianUs: percentile(arr, 50),
    p99Us: percentile(arr, 99),
    throughputPerS: s.wallMs > 0 ? (s.requests * 1000) / s.wallMs : Number.NaN,
  };
}
