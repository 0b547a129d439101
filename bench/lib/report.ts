import type { Row } from "./compare.js";
import type { MemoryRow } from "./memory.js";

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ").slice(0, 240);
const mb = (b: number | undefined): string => (b === undefined || Number.isNaN(b) ? "—" : (b / 1024 / 1024).toFixed(1));
const us = (v: number): string => (v >= 10_000 ? v.toFixed(0) : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "—" : `${v.toFixed(2)}×`);

export function comparisonTable(rows: readonly Row[]): string {
  const out = [
    "| group | scenario | variant | in flight | requests | median µs | p99 µs | req/s | worker CPU µs/req | peak RSS MB | median vs baseline | throughput vs baseline | CPU vs baseline |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const r of rows) {
    const name = r.baseline ? `${r.variant} (baseline)` : r.variant;
    const head = `| ${cell(r.group)} | ${cell(r.scenario)} | ${cell(name)} | ${r.inFlight}`;
    if (r.status !== "ok" || !r.summary) {
      out.push(`${head} | — | ${r.status}: ${cell(r.reason ?? "")} | — | — | — | — | — | — | — |`);
      continue;
    }
    const s = r.summary;
    out.push(
      `${head} | ${s.requests} | ${us(s.medianUs)} | ${us(s.p99Us)} | ${s.throughputPerS.toFixed(0)} | ${r.cpuUsPerRequest === undefined ? "—" : us(r.cpuUsPerRequest)} | ${mb(r.peakRssBytes)} | ${ratio(r.medianRatio)} | ${ratio(r.throughputRatio)} | ${ratio(r.cpuRatio)} |`,
    );
  }
  return out.join("\n");
}

export function memoryTable(rows: readonly MemoryRow[]): string {
  const out = [
    "| variant | requests | idle RSS MB (tree) | idle RSS MB (root process) | RSS after MB (tree) | growth from idle | growth after warm-up | peak RSS MB | RSS after each tenth (MB) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|---|",
  ];
  for (const r of rows) {
    if (r.status !== "ok") {
      out.push(`| ${cell(r.variant)} | ${r.requests} | ${r.status}: ${cell(r.reason ?? "")} | — | — | — | — | — | — |`);
      continue;
    }
    out.push(
      `| ${cell(r.variant)} | ${r.requests} | ${mb(r.idleBytes)} | ${mb(r.idleRootBytes)} | ${mb(r.afterBytes)} | ${growthPercent(r).toFixed(1)} % | ${warmGrowthPercent(r).toFixed(1)} % | ${mb(r.peakBytes)} | ${(r.curveBytes ?? []).map(mb).join(", ")} |`,
    );
  }
  return out.join("\n");
}

export function growthPercent(r: MemoryRow): number {
  if (r.idleBytes === undefined || r.afterBytes === undefined) return Number.NaN;
  return ((r.afterBytes - r.idleBytes) / r.idleBytes) * 100;
}

/**
 * Growth from the end of the first tenth to the end: V8 sizes its young generation to the
 * allocation rate in the first few thousand requests, which is not a leak (bench/README.md).
 */
export function warmGrowthPercent(r: MemoryRow): number {
  const first = r.curveBytes?.[0];
  if (first === undefined || r.afterBytes === undefined) return Number.NaN;
  return ((r.afterBytes - first) / first) * 100;
}

export interface TargetCheck {
  target: string;
  measured: string;
  holds: boolean | undefined;
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const out = ["| target | measured | holds |", "|---|---|---|"];
  for (const c of checks) out.push(`| ${cell(c.target)} | ${cell(c.measured)} | ${c.holds === undefined ? "not measured" : c.holds ? "yes" : "**no**"} |`);
  return out.join("\n");
}
