import type { Row } from "./lib/compare.js";
import type { MemoryRow } from "./lib/memory.js";
import { growthPercent, warmGrowthPercent, type TargetCheck } from "./lib/report.js";
import { LABEL, SCENARIO } from "./scenarios.js";

const find = (rows: readonly Row[], scenario: string, variant: string): Row | undefined =>
  rows.find((r) => r.scenario === scenario && r.variant === variant && r.status === "ok");

const fmtUs = (v: number): string => `${v.toFixed(1)} µs`;
const signed = (v: number): string => `${v >= 0 ? "+" : "−"}${fmtUs(Math.abs(v))}`;

/** The targets, evaluated from this run's rows. Reported only: a miss never fails the run. */
export function checkTargets(rows: readonly Row[], memory: readonly MemoryRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];

  for (const scenario of [SCENARIO.bazelProto, SCENARIO.buck2Execute1]) {
    const floorLabel = scenario === SCENARIO.bazelProto ? LABEL.floorPipe : LABEL.floorGrpc;
    const floor = find(rows, scenario, floorLabel);
    const inline = find(rows, scenario, LABEL.bridge("inline"));
    checks.push(
      floor?.summary && inline?.summary
        ? {
            target: `${scenario}: inline median within 2× the floor`,
            measured: `${fmtUs(inline.summary.medianUs)} vs ${fmtUs(floor.summary.medianUs)} = ${(inline.summary.medianUs / floor.summary.medianUs).toFixed(2)}×`,
            holds: inline.summary.medianUs <= 2 * floor.summary.medianUs,
          }
        : { target: `${scenario}: inline median within 2× the floor`, measured: "not measured in this run (row skipped, failed or filtered out)", holds: undefined },
    );
  }

  const peer = find(rows, SCENARIO.peer, LABEL.peer);
  const bridge = find(rows, SCENARIO.peer, LABEL.bridge("inline"));
  checks.push(
    peer?.summary && bridge?.summary
      ? {
          target: "≥ 3× @bazel/worker's no-op singleplex throughput (inline)",
          measured: `${bridge.summary.throughputPerS.toFixed(0)} vs ${peer.summary.throughputPerS.toFixed(0)} req/s = ${(bridge.summary.throughputPerS / peer.summary.throughputPerS).toFixed(2)}×`,
          holds: bridge.summary.throughputPerS >= 3 * peer.summary.throughputPerS,
        }
      : { target: "≥ 3× @bazel/worker's no-op singleplex throughput", measured: "not measured in this run", holds: undefined },
  );

  for (const scenario of [SCENARIO.bazelProto, SCENARIO.buck2Execute1]) {
    const inline = find(rows, scenario, LABEL.bridge("inline"));
    const proc = find(rows, scenario, LABEL.bridge("process"));
    const target = `${scenario}: --host=process adds ≤ 100 µs median over inline`;
    checks.push(
      inline?.summary && proc?.summary
        ? {
            target,
            measured: `${signed(proc.summary.medianUs - inline.summary.medianUs)} (${fmtUs(proc.summary.medianUs)} vs ${fmtUs(inline.summary.medianUs)})`,
            holds: proc.summary.medianUs - inline.summary.medianUs <= 100,
          }
        : { target, measured: "not measured in this run (row skipped, failed or filtered out)", holds: undefined },
    );
  }

  for (const host of ["inline", "process"] as const) {
    const m = memory.find((r) => r.variant === LABEL.bridge(host) && r.status === "ok");
    if (!m || m.idleBytes === undefined) {
      checks.push({ target: `--host=${host}: RSS < 60 MB idle, < 10 % growth`, measured: "not measured in this run", holds: undefined });
      continue;
    }
    const idleMb = m.idleBytes / 1024 / 1024;
    const rootMb = (m.idleRootBytes ?? Number.NaN) / 1024 / 1024;
    const growth = growthPercent(m);
    checks.push({
      target: `--host=${host}: bridge RSS below 60 MB at idle`,
      measured: `${rootMb.toFixed(1)} MB bridge process; ${idleMb.toFixed(1)} MB with its tool processes`,
      holds: rootMb < 60,
    });
    checks.push({
      target: `--host=${host}: RSS growth below 10 % over ${m.requests} no-op requests (tree)`,
      measured: `${growth.toFixed(1)} % from idle; ${warmGrowthPercent(m).toFixed(1)} % after the first tenth`,
      holds: growth < 10,
    });
  }
  return checks;
}

/**
 * The per-request floor (issue 14): the bridge against the plain-Node echo on the Bazel proto
 * rows, as the table states its goals. Medians decide; CPU per request is shown beside
 * them because it moves less with the machine's load.
 */
export function checkFloor(rows: readonly Row[]): TargetCheck[] {
  const ratioTo = (scenario: string, host: "inline" | "process", limit: number): TargetCheck => {
    const target = `${scenario}: --host=${host} median within ${limit}× the plain-Node echo`;
    const floor = find(rows, scenario, LABEL.floorPipe);
    const bridge = find(rows, scenario, LABEL.bridge(host));
    if (!floor?.summary || !bridge?.summary) return { target, measured: "not measured in this run (row skipped, failed or filtered out)", holds: undefined };
    const ratio = bridge.summary.medianUs / floor.summary.medianUs;
    const cpu =
      // A smoke run's batches are too short for /proc's 10 ms clock ticks: no CPU ratio then.
      bridge.cpuUsPerRequest !== undefined && floor.cpuUsPerRequest !== undefined && floor.cpuUsPerRequest > 0
        ? `; CPU ${fmtUs(bridge.cpuUsPerRequest)} vs ${fmtUs(floor.cpuUsPerRequest)} per request = ${(bridge.cpuUsPerRequest / floor.cpuUsPerRequest).toFixed(2)}×`
        : "";
    return {
      target,
      measured: `${fmtUs(bridge.summary.medianUs)} vs ${fmtUs(floor.summary.medianUs)} = ${ratio.toFixed(2)}×${cpu}`,
      holds: ratio <= limit,
    };
  };
  const inline = find(rows, SCENARIO.bazelProto, LABEL.bridge("inline"));
  const proc = find(rows, SCENARIO.bazelProto, LABEL.bridge("process"));
  const overTarget = `${SCENARIO.bazelProto}: --host=process adds ≤ 100 µs median over inline`;
  return [
    ratioTo(SCENARIO.bazelProto, "inline", 2),
    ratioTo(SCENARIO.bazelMux, "inline", 2),
    inline?.summary && proc?.summary
      ? {
          target: overTarget,
          measured: `${signed(proc.summary.medianUs - inline.summary.medianUs)} (${fmtUs(proc.summary.medianUs)} vs ${fmtUs(inline.summary.medianUs)})`,
          holds: proc.summary.medianUs - inline.summary.medianUs <= 100,
        }
      : { target: overTarget, measured: "not measured in this run (row skipped, failed or filtered out)", holds: undefined },
    ratioTo(SCENARIO.bazelMux, "process", 3),
  ];
}
