import { RssSampler, treeCpuMs } from "./process-rss.js";
import { addBatch, emptySamples, summarize, type Samples, type Summary } from "./stats.js";
import { runBatch, SkipError, type Target, type Variant } from "./target.js";

/** One scenario: a baseline (variants[0]) and the alternatives it is compared with in the same run. */
export interface Comparison {
  group: string;
  name: string;
  inFlight: number;
  variants: Variant[];
  rounds: number;
  requestsPerRound: number;
  warmupRequests: number;
}

export interface Row {
  group: string;
  scenario: string;
  variant: string;
  inFlight: number;
  baseline: boolean;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  summary?: Summary;
  peakRssBytes?: number;
  /** variant median / baseline median (latency: lower is better). */
  medianRatio?: number;
  /** variant throughput / baseline throughput (higher is better). */
  throughputRatio?: number;
  /** CPU time the worker's process tree spent per request (user + system), in µs. */
  cpuUsPerRequest?: number;
  /** variant CPU per request / baseline CPU per request. */
  cpuRatio?: number;
}

interface Running {
  index: number;
  variant: Variant;
  target: Target;
  samples: Samples;
  cpuMs: number;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);

/**
 * Runs every variant of a scenario in interleaved rounds — A B C, B C A, C A B … — so drift on a
 * shared machine (other jobs, thermal, GC of the client) lands on all of them alike.
 */
export async function runComparison(c: Comparison): Promise<Row[]> {
  const rows: Row[] = c.variants.map((v, i) => ({
    group: c.group,
    scenario: c.name,
    variant: v.label,
    inFlight: c.inFlight,
    baseline: i === 0,
    status: "ok",
  }));
  const sampler = new RssSampler();
  const running: Running[] = [];
  const deadlineMs = (n: number): number => Math.max(60_000, n * 20);
  const fail = async (r: Running, err: unknown): Promise<void> => {
    rows[r.index]!.status = "failed";
    rows[r.index]!.reason = (err as Error).message;
    running.splice(running.indexOf(r), 1);
    await r.target.close().catch(() => {});
  };

  for (const [index, variant] of c.variants.entries()) {
    log(`  ${c.name} — ${variant.label}: starting`);
    try {
      const target = await variant.start();
      if (target.pid !== undefined) sampler.watch(target.pid);
      const r: Running = { index, variant, target, samples: emptySamples(), cpuMs: 0 };
      running.push(r);
      try {
        await runBatch(target, c.warmupRequests, c.inFlight, deadlineMs(c.warmupRequests));
      } catch (err) {
        await fail(r, err);
      }
    } catch (err) {
      rows[index]!.status = err instanceof SkipError ? "skipped" : "failed";
      rows[index]!.reason = (err as Error).message;
      log(`  ${c.name} — ${variant.label}: ${rows[index]!.status}: ${rows[index]!.reason}`);
    }
  }

  for (let round = 0; round < c.rounds; round++) {
    const order = running.map((_, i) => running[(i + round) % running.length]!);
    for (const r of order) {
      try {
        const cpu0 = r.target.pid !== undefined ? treeCpuMs(r.target.pid) : 0;
        addBatch(r.samples, await runBatch(r.target, c.requestsPerRound, c.inFlight, deadlineMs(c.requestsPerRound)));
        if (r.target.pid !== undefined) r.cpuMs += treeCpuMs(r.target.pid) - cpu0;
      } catch (err) {
        await fail(r, err);
      }
    }
  }

  for (const r of [...running]) {
    const row = rows[r.index]!;
    row.summary = summarize(r.samples);
    if (r.target.pid !== undefined && row.summary.requests > 0) row.cpuUsPerRequest = (r.cpuMs * 1000) / row.summary.requests;
    row.peakRssBytes = r.target.peakRssBytes ? r.target.peakRssBytes() : r.target.pid !== undefined ? sampler.finish(r.target.pid) : Number.NaN;
    await r.target.close().catch((err: unknown) => log(`  closing ${r.variant.label}: ${(err as Error).message}`));
  }
  const base = rows[0]!.summary;
  for (const row of rows) {
    if (!row.summary || !base) continue;
    row.medianRatio = row.summary.medianUs / base.medianUs;
    row.throughputRatio = row.summary.throughputPerS / base.throughputPerS;
    if (row.cpuUsPerRequest !== undefined && rows[0]!.cpuUsPerRequest) row.cpuRatio = row.cpuUsPerRequest / rows[0]!.cpuUsPerRequest;
  }
  return rows;
}
