// `node --import tsx bench/rss-curve.ts [--requests=N] [--every=N] [--budget-mb=N]` (after
// `npm run build`): RSS of the tool processes over N requests (default 10,000) of a leaking tool,
// with recycling off and on (--max-tool-memory-mb). The probe tool leaks on purpose with
// `--alloc=1` (1 MB retained per call); every Nth request (default 20) sends it, so the leak
// averages ~50 KB per request. Prints a table: requests served vs total tool-process RSS.
import { readFileSync } from "node:fs";
import type { PreparedJob, ToolHost } from "../src/core/job.js";
import { loadBuiltHostModules, numericFlag as flag } from "./lib/built-hosts.js";

const { createHost, createLogger, loadTool, resolveToolModule } = await loadBuiltHostModules("rss-curve");
const REQUESTS = flag("requests", 10_000);
const EVERY = flag("every", 20);
const BUDGET_MB = flag("budget-mb", 200);
const POINTS = 10;

const PAGE = 4096;
function rssMb(pid: number): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return (pages * PAGE) / (1024 * 1024);
  } catch {
    return 0; // exited between listing and reading (a recycled process)
  }
}

const toolModule = resolveToolModule("probe", process.cwd());
const tool = await loadTool(toolModule);
const logger = createLogger({ level: "error" });

interface Curve {
  points: { served: number; rssMb: number; processes: number }[];
  peakMb: number;
  recycles: number;
  ms: number;
}

type MeasuredHost = Omit<ToolHost, "stats"> & { pids(): number[]; stats(): { recycles: number } };

function makeHost(budgetMb: number | undefined): Promise<MeasuredHost> {
  return createHost({
    kind: "process",
    toolModule,
    tool,
    startupArgs: [],
    concurrency: 1,
    toolProcesses: 1,
    abortGraceMs: 3000,
    maxToolProcessMemoryMb: budgetMb,
    logger,
  }) as Promise<MeasuredHost>;
}

// Both hosts advance in lockstep (request i on one, then on the other) so load on this shared
// machine hits them alike and the wall times are comparable.
const variants: { host: MeasuredHost; curve: Curve }[] = [];
for (const budget of [undefined, BUDGET_MB]) {
  variants.push({ host: await makeHost(budget), curve: { points: [], peakMb: 0, recycles: 0, ms: 0 } });
}
const signal = new AbortController().signal;
const env = { ...(process.env as Record<string, string>) };
for (let i = 1; i <= REQUESTS; i++) {
  const job: PreparedJob = {
    id: i,
    origin: "bazel",
    args: i % EVERY === 0 ? ["--alloc=1", "--echo=x"] : ["--echo=x"],
    inputs: [],
    cwd: process.cwd(),
    env,
    verbosity: 0,
  };
  for (const { host, curve } of variants) {
    const t0 = performance.now();
    const r = await host.run(job, signal);
    curve.ms += performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`request ${i} failed: ${r.output}`);
    if (i % 100 === 0 || i === REQUESTS) {
      const pids = host.pids();
      const total = pids.reduce((sum, pid) => sum + rssMb(pid), 0);
      curve.peakMb = Math.max(curve.peakMb, total);
      if (i % (REQUESTS / POINTS) === 0) curve.points.push({ served: i, rssMb: total, processes: pids.length });
    }
  }
}
for (const v of variants) {
  v.curve.recycles = v.host.stats().recycles;
  await v.host.close();
}
const off = variants[0]!.curve;
const on = variants[1]!.curve;
const lines = [
  `tool-process RSS over ${REQUESTS} probe requests (1 MB leaked every ${EVERY}th request), one tool process at a time, node ${process.version}`,
  "",
  `| requests | RSS MB, recycling off | RSS MB, --max-tool-memory-mb=${BUDGET_MB} |`,
  "|---|---|---|",
  ...off.points.map((p, i) => `| ${p.served} | ${p.rssMb.toFixed(0)} | ${on.points[i]!.rssMb.toFixed(0)} |`),
  `| peak (sampled every 100) | ${off.peakMb.toFixed(0)} | ${on.peakMb.toFixed(0)} |`,
  `| recycles | ${off.recycles} | ${on.recycles} |`,
  `| time in requests s | ${(off.ms / 1000).toFixed(1)} | ${(on.ms / 1000).toFixed(1)} |`,
];
process.stdout.write(`${lines.join("\n")}\n`);
