// Reduced-size load, run by every `npm test`: the same drivers and checks as the full-size suites
// in test/load (`npm run test:load`), at a tenth of the size.
import { afterEach, describe, expect, it } from "vitest";
import { killAllWorkers } from "./helpers/bazel-client.js";
import { killAllBuck2Workers } from "./helpers/buck2-worker.js";
import { expectBazelLoadHeld, expectBuck2LoadHeld } from "./helpers/load-checks.js";
import { recordFigures, runBazelMultiplexLoad, runBuck2Load } from "./helpers/load.js";

afterEach(async () => {
  killAllWorkers();
  await killAllBuck2Workers(true);
});

describe("reduced load (full size: npm run test:load)", () => {
  it.each(["proto", "json"] as const)(
    "Bazel %s multiplex: 1,000 requests, 8–64 in flight, 20%% cancelled — one response per id, was_cancelled only for cancels, clean stdout, live heap after GC back within 4 MiB of baseline (docs/protocol/bazel-worker.md §5.2, §6)",
    async (protocol) => {
      const report = await runBazelMultiplexLoad({
        protocol,
        requests: 1000,
        minInFlight: 8,
        maxInFlight: 64,
        cancelRate: 0.2,
        seed: 0x5eed + (protocol === "json" ? 1 : 0),
        timeoutMs: 60_000,
      });
      recordFigures(`bazel-${protocol}-multiplex-1000`, { ...report });
      expectBazelLoadHeld(report, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 });
    },
  );

  it("Buck2: 100 concurrent Execute calls plus an ExecuteStream carrying 100 more at the same time (docs/protocol/buck2-worker.md §6.3, §6.4, §8)", async () => {
    const report = await runBuck2Load({ unary: 100, streamed: 100, timeoutMs: 60_000 });
    recordFigures("buck2-100-unary-100-stream", { ...report });
    expectBuck2LoadHeld(report, { maxRssGrowthMiB: 64, maxHeapGrowthMiB: 4 });
  });
});

// A guard that the checks themselves can fail: a report with one lost id must not pass.
describe("load checks", () => {
  it("a report with a missing response, an unsolicited was_cancelled, RSS growth or live-heap growth: rejected by the checks", () => {
    const good = {
      requests: 10, responses: 10, duplicates: 0, missing: 0, cancelsSent: 2, wasCancelled: 1, unsolicitedWasCancelled: 0,
      wrongOutput: 0, maxInFlightSeen: 8, garbage: undefined, stdoutBytes: 100, rssBaselineMiB: 50, rssMidMiB: 54, rssPeakMiB: 60,
      rssAfterMiB: 55, heapBaselineMiB: 8, heapAfterMiB: 8.5, exitCode: 0, unfinishedResponse: undefined, seconds: 1,
    };
    expect(() => expectBazelLoadHeld(good, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 })).not.toThrow();
    expect(() => expectBazelLoadHeld({ ...good, missing: 1 }, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 })).toThrow();
    expect(() => expectBazelLoadHeld({ ...good, unsolicitedWasCancelled: 1 }, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 })).toThrow();
    expect(() => expectBazelLoadHeld({ ...good, rssAfterMiB: 200 }, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 })).toThrow();
    expect(() => expectBazelLoadHeld({ ...good, heapAfterMiB: 20 }, { maxRssGrowthMiB: 64, maxSecondHalfGrowthMiB: 16, maxHeapGrowthMiB: 4 })).toThrow();
  });
});
