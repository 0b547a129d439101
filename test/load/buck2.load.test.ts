// Full-size Buck2 load (`npm run test:load`); the reduced size runs in `npm test`.
import { afterEach, describe, it } from "vitest";
import { killAllBuck2Workers } from "../reliability/helpers/buck2-worker.js";
import { expectBuck2LoadHeld } from "../reliability/helpers/load-checks.js";
import { recordFigures, runBuck2Load } from "../reliability/helpers/load.js";

afterEach(async () => {
  await killAllBuck2Workers(true);
});

describe("full load: Buck2", () => {
  it("1,000 concurrent Execute calls plus an ExecuteStream carrying 1,000 more at the same time: every call answered with its own output, live heap after GC back within 4 MiB of baseline, clean shutdown (docs/protocol/buck2-worker.md §6.3, §6.4, §8, §10)", async () => {
    const report = await runBuck2Load({ unary: 1000, streamed: 1000, timeoutMs: 300_000 });
    recordFigures("buck2-1000-unary-1000-stream", { ...report });
    expectBuck2LoadHeld(report, { maxRssGrowthMiB: 96, maxHeapGrowthMiB: 4 });
  });
});
