import { processRssBytes, RssSampler, treeRssBytes } from "./process-rss.js";
import { runBatch, SkipError, type Variant } from "./target.js";

export interface MemoryRow {
  variant: string;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  requests: number;
  /** RSS of the process tree after start-up and one request, at rest. */
  idleBytes?: number;
  /** The same for the root process alone (the bridge without its tool processes). */
  idleRootBytes?: number;
  /** RSS of the root process alone after all requests. */
  afterRootBytes?: number;
  /** RSS at rest after all requests. */
  afterBytes?: number;
  peakBytes?: number;
  /** RSS after each tenth of the requests (the growth curve). */
  curveBytes?: number[];
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `requests` no-op requests one at a time and watches the worker tree's RSS as it goes. */
export async function runMemory(variant: Variant, requests: number, settleMs: number): Promise<MemoryRow> {
  const row: MemoryRow = { variant: variant.label, status: "ok", requests };
  let target;
  try {
    target = await variant.start();
  } catch (err) {
    return { ...row, status: err instanceof SkipError ? "skipped" : "failed", reason: (err as Error).message };
  }
  const pid = target.pid!;
  const sampler = new RssSampler(20);
  try {
    await settle(settleMs);
    row.idleBytes = treeRssBytes(pid);
    row.idleRootBytes = processRssBytes(pid);
    sampler.watch(pid);
    row.curveBytes = [];
    const step = Math.ceil(requests / 10);
    for (let done = 0; done < requests; done += step) {
      const n = Math.min(step, requests - done);
      await runBatch(target, n, 1, Math.max(60_000, n * 20));
      row.curveBytes.push(treeRssBytes(pid));
    }
    await settle(settleMs);
    row.afterBytes = treeRssBytes(pid);
    row.afterRootBytes = processRssBytes(pid);
    row.peakBytes = sampler.finish(pid);
  } catch (err) {
    row.status = "failed";
    row.reason = (err as Error).message;
  } finally {
    await target.close().catch(() => {});
  }
  return row;
}
