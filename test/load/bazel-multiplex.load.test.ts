// Full-size Bazel multiplex load (`npm run test:load`); the reduced size runs in `npm test`
// (test/reliability/load-reduced.test.ts) with the same driver and checks.
import { afterEach, describe, it } from "vitest";
import { killAllWorkers } from "../reliability/helpers/bazel-client.js";
import { expectBazelLoadHeld } from "../reliability/helpers/load-checks.js";
import { recordFigures, runBazelMultiplexLoad } from "../reliability/helpers/load.js";

afterEach(() => killAllWorkers());

describe("full load: Bazel multiplex", () => {
  it.each(["proto", "json"] as const)(
    "%s: 10,000 requests, 8–64 in flight, 20%% random cancels — exactly one response per id, was_cancelled only answering cancels, zero non-protocol bytes, live heap after GC back within 4 MiB of baseline (docs/protocol/bazel-worker.md §5.2, §6, §7.1)",
    async (protocol) => {
      const report = await runBazelMultiplexLoad({
        protocol,
        requests: 10_000,
        minInFlight: 8,
        maxInFlight: 64,
        cancelRate: 0.2,
        seed: 0x10ad + (protocol === "json" ? 1 : 0),
        timeoutMs: 300_000,
      });
      recordFigures(`bazel-${protocol}-multiplex-10000`, { ...report });
      expectBazelLoadHeld(report, { maxRssGrowthMiB: 96, maxSecondHalfGrowthMiB: 24, maxHeapGrowthMiB: 4 });
    },
  );
});
