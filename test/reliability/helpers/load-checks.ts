import { expect } from "vitest";
import type { BazelLoadReport, Buck2LoadReport } from "./load.js";

/** What "the load held" means for Bazel multiplex (docs/protocol/bazel-worker.md §5.2, §6, §7.1). */
export interface MemoryLimits {
  maxRssGrowthMiB: number;
  maxSecondHalfGrowthMiB: number;
  /** Live heap after a forced GC must be back within this much of its pre-load figure. */
  maxHeapGrowthMiB: number;
}

export function expectBazelLoadHeld(r: BazelLoadReport, limits: MemoryLimits): void {
  expect(r.garbage, "non-protocol bytes on stdout").toBeUndefined();
  expect(r.unfinishedResponse, "stdout ended inside a response").toBeUndefined();
  expect(r.missing, "requests never answered").toBe(0);
  expect(r.duplicates, "requests answered twice").toBe(0);
  expect(r.responses).toBe(r.requests);
  expect(r.unsolicitedWasCancelled, "was_cancelled without a cancel").toBe(0);
  expect(r.wasCancelled).toBeLessThanOrEqual(r.cancelsSent);
  expect(r.wrongOutput, "responses carrying another request's output").toBe(0);
  expect(r.maxInFlightSeen).toBeGreaterThanOrEqual(8);
  expect(r.maxInFlightSeen).toBeLessThanOrEqual(64);
  expect(r.exitCode).toBe(0);
  expect(r.rssAfterMiB - r.rssBaselineMiB, "RSS growth after the load (MiB)").toBeLessThan(limits.maxRssGrowthMiB);
  // No per-request leak: the second half of the load must not grow RSS like the first did.
  expect(r.rssAfterMiB - r.rssMidMiB, "RSS growth during the second half (MiB)").toBeLessThan(limits.maxSecondHalfGrowthMiB);
  expect(r.heapAfterMiB - r.heapBaselineMiB, "live heap after GC vs before the load (MiB)").toBeLessThan(limits.maxHeapGrowthMiB);
}

/** What "the load held" means for Buck2 (docs/protocol/buck2-worker.md §6.3, §6.4, §10). */
export function expectBuck2LoadHeld(r: Buck2LoadReport, limits: Omit<MemoryLimits, "maxSecondHalfGrowthMiB">): void {
  expect(r.failures).toEqual([]);
  expect(r.violations).toEqual([]);
  expect(r.unaryOk).toBe(r.unary);
  expect(r.streamedOk).toBe(r.streamed);
  expect(r.neededSigkill).toBe(false);
  expect(r.survivors).toBe(0);
  expect(r.rssAfterMiB - r.rssBaselineMiB, "RSS growth after the load (MiB)").toBeLessThan(limits.maxRssGrowthMiB);
  expect(r.heapAfterMiB - r.heapBaselineMiB, "live heap after GC vs before the load (MiB)").toBeLessThan(limits.maxHeapGrowthMiB);
}
