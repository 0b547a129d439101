// `node --import tsx bench/placement.ts [--requests=N] [--rounds=N]`: why the protocol-overhead group
// is pinned to one CPU (bench/README.md, "Pinned to one CPU"). The plain-Node echo, made to spin
// 0–20 µs per request before it answers, and the inline bridge, measured twice: pinned to one CPU,
// and where the scheduler puts them. Pinned, each µs of work adds about a µs; unpinned, a little
// work changes where the worker is woken, which costs far more than the work.
import { loadavg } from "node:os";
import { join } from "node:path";
import { runComparison, type Row } from "./lib/compare.js";
import { pinToOneCpu } from "./lib/pin.js";
import { pipeWorker } from "./lib/pipe-target.js";
import { CLI, ROOT } from "./scenarios.js";

const flag = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const requests = flag("requests", 2000);
const rounds = flag("rounds", 4);
const echo = join(ROOT, "bench", "workers", "floor-pipe-echo.mjs");
const spec = { format: "proto", multiplex: false, maxInFlight: 1 } as const;
const variants = () => [
  ...[0, 2, 5, 10, 20].map((us) => pipeWorker({ label: `echo, ${us} µs of work per request`, command: process.execPath, args: [echo, "--format=proto", `--busy-us=${us}`], ...spec })),
  pipeWorker({ label: "bridge --host=inline", command: process.execPath, args: [CLI, "--tool", "probe", "--persistent_worker", "--host=inline"], ...spec }),
];

async function measure(pinned: boolean): Promise<Row[]> {
  const pinning = pinned ? pinToOneCpu() : undefined;
  if (pinning && "unavailable" in pinning) throw new Error(`cannot pin: ${pinning.unavailable}`);
  try {
    return await runComparison({ group: "placement", name: pinned ? "pinned" : "unpinned", inFlight: 1, variants: variants(), rounds, requestsPerRound: requests, warmupRequests: 500 });
  } finally {
    if (pinning && "restore" in pinning) pinning.restore();
  }
}

process.stderr.write(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
const pinned = await measure(true);
const unpinned = await measure(false);
const cell = (r: Row | undefined): string => (r?.summary ? `${r.summary.medianUs.toFixed(1)} µs (CPU ${r.cpuUsPerRequest?.toFixed(1) ?? "?"})` : (r?.reason ?? "—"));
const lines = ["| worker, Bazel proto singleplex | pinned to one CPU: median | unpinned: median |", "|---|--:|--:|"];
for (const [i, row] of pinned.entries()) lines.push(`| ${row.variant} | ${cell(row)} | ${cell(unpinned[i])} |`);
process.stdout.write(`${lines.join("\n")}\n`);
