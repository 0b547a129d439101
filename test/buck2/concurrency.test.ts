// Concurrency between Buck2 and one worker (docs/protocol/buck2-worker.md §8, issue rule 4).
import { mkdtempSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { bridgeExe, type ActionResult } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const METER = fileURLToPath(new URL("./fixtures/meter-tool.mjs", import.meta.url));
const pool = new HarnessPool();
afterEach(() => pool.cleanup());

function stderrOf(r: ActionResult): string {
  if (r.kind !== "success") throw new Error(`expected success: ${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  return r.stderr;
}

describe("Buck2 concurrency", () => {
  test("concurrency = None: as many concurrent Execute calls as local slots, all running in the worker at once (§8, scenario 2)", async () => {
    const buck2 = pool.create({ localSlots: 6 });
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER, "--host", "inline", "--concurrency", "16") });
    const barrier = mkdtempSync(`${buck2.projectRoot}/barrier-`);
    // Each job finishes only once all 6 are inside the worker together: no timing involved.
    const results = await Promise.all(
      Array.from({ length: 6 }, () => buck2.runAction({ worker, args: [`--barrier=${barrier}:6`] })),
    );
    expect(results.map(stderrOf)).toEqual(Array(6).fill("barrier passed"));
    expect(buck2.worker(worker)!.maxInFlight).toBe(6);
    await buck2.endCommand();
  });

  test("no --concurrency: a tool that declares many jobs per process runs more at once than there are CPUs, in the default process host", async () => {
    // The meter tool declares maxConcurrentJobs: 1000. Before the default followed the tool, jobs
    // beyond the CPU count waited for a slot and this barrier was never reached.
    const n = availableParallelism() + 3;
    const buck2 = pool.create({ localSlots: n });
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER) });
    const barrier = mkdtempSync(`${buck2.projectRoot}/barrier-`);
    const results = await Promise.all(Array.from({ length: n }, () => buck2.runAction({ worker, args: [`--barrier=${barrier}:${n}`] })));
    expect(results.map(stderrOf)).toEqual(Array(n).fill("barrier passed"));
    await buck2.endCommand();
  });

  test("WorkerInfo(concurrency = 2): Buck2 holds a FIFO permit per worker, so at most 2 calls are in flight (§8, scenario 2)", async () => {
    const buck2 = pool.create({ localSlots: 8 });
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER, "--host", "inline"), concurrency: 2 });
    const results = await Promise.all(Array.from({ length: 5 }, () => buck2.runAction({ worker, args: ["--hold=150", "--max"] })));
    const maxes = results.map((r) => Number(stderrOf(r).replace("max=", "")));
    expect(Math.max(...maxes)).toBeLessThanOrEqual(2);
    expect(buck2.worker(worker)!.maxInFlight).toBe(2);
    await buck2.endCommand();
  });

  test("--concurrency N caps jobs running in the bridge; the rest queue and start in arrival order (issue rule 4)", async () => {
    const buck2 = pool.create({ localSlots: 6 });
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER, "--host", "inline", "--concurrency", "2") });
    const results = await Promise.all(Array.from({ length: 6 }, () => buck2.runAction({ worker, args: ["--hold=400", "--max", "--seq", "--id"] })));
    const jobs = results.map((r) => {
      const [max, seq, id] = stderrOf(r).split("\n").map((l) => Number(l.split("=")[1]));
      return { max: max!, seq: seq!, id: id! };
    });
    expect(Math.max(...jobs.map((j) => j.max))).toBe(2);
    // Six calls were in flight at the harness, but only two ran at a time in the worker.
    expect(buck2.worker(worker)!.maxInFlight).toBe(6);
    // The bridge numbers calls as they arrive; FIFO means they start in that same order.
    const byArrival = [...jobs].sort((a, b) => a.id - b.id);
    expect(byArrival.map((j) => j.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    await buck2.endCommand();
  });
});
