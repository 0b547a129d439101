// `npm run bench [-- --quick] [-- --only=TEXT] [-- --out=PATH]`: every scenario runs its baseline
// and the bridge alternately in one run and prints a markdown table (see bench/README.md).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { runComparison, type Row } from "./lib/compare.js";
import { runMemory, type MemoryRow } from "./lib/memory.js";
import { comparisonTable, memoryTable, targetsTable } from "./lib/report.js";
import { pinToOneCpu, type Pinning } from "./lib/pin.js";
import { checkFloor, checkTargets } from "./targets.js";
import { CLI, comparisons, FULL, memoryVariants, QUICK, ROOT } from "./scenarios.js";

interface Flags {
  quick: boolean;
  /** Pin the latency scenarios to one CPU (the default; `--no-pin` runs them where the scheduler puts them). */
  pin: boolean;
  only: string | undefined;
  out: string;
}

function parseFlags(argv: readonly string[]): Flags {
  const quick = argv.includes("--quick");
  const pin = !argv.includes("--no-pin");
  const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
  const out = argv.find((a) => a.startsWith("--out="))?.slice("--out=".length);
  const unknown = argv.filter((a) => a !== "--quick" && a !== "--no-pin" && !a.startsWith("--only=") && !a.startsWith("--out="));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown argument(s) ${unknown.join(" ")}\nusage: bench/run.ts [--quick] [--no-pin] [--only=TEXT] [--out=PATH]\n`);
    process.exit(2);
  }
  // A quick run must not overwrite the committed full result; *.tmp is gitignored.
  return { quick, pin, only, out: out ?? join(ROOT, "bench", "results", quick ? "quick.tmp" : "latest.md") };
}

function machine(): string {
  const model = /^model name\s*:\s*(.*)$/m.exec(safeRead("/proc/cpuinfo"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `- date: ${new Date().toISOString()}, commit ${commit}`,
    `- machine: ${cpus().length} CPUs (${model}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
    `- Node ${process.version} on ${process.platform}/${process.arch}`,
  ].join("\n");
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** bench/tsc.ts belongs to the tsc engineer; run it when it exists and include what it prints. */
async function runTscBench(quick: boolean): Promise<string> {
  const script = join(ROOT, "bench", "tsc.ts");
  if (!existsSync(script)) return "skipped: bench/tsc.ts is not present yet (the tsc issue provides it).";
  const args = ["--import", "tsx", script, ...(quick ? ["--quick"] : [])];
  process.stderr.write(`tsc: running node ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => (out += s));
    const watchdog = setTimeout(() => child.kill("SIGKILL"), quick ? 5 * 60_000 : 30 * 60_000);
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      resolve(code === 0 ? out.trim() : `failed: bench/tsc.ts exited ${signal ?? code}\n\n${out.trim()}`);
    });
  });
}

/** bench/client-startup.ts: one-shot and daemon-client CPU against node's own start-up. */
async function runClientStartupBench(quick: boolean): Promise<string> {
  const args = ["--import", "tsx", join(ROOT, "bench", "client-startup.ts"), ...(quick ? ["--quick"] : [])];
  process.stderr.write(`client start-up: running node ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => (out += s));
    const watchdog = setTimeout(() => child.kill("SIGKILL"), quick ? 3 * 60_000 : 15 * 60_000);
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      resolve(code === 0 ? out.trim() : `failed: bench/client-startup.ts exited ${signal ?? code}\n\n${out.trim()}`);
    });
  });
}

/**
 * Groups whose figures are µs round trips, which the placement decides as much as the code does.
 * Not the peer: @bazel/worker spends milliseconds of CPU per request, and on one CPU it would
 * share that CPU with the client, which would flatter the bridge.
 */
const PINNED_GROUPS = ["Protocol overhead"];

function describePlacement(pinning: Pinning | undefined): string {
  if (pinning === undefined) return "where the scheduler puts them (--no-pin)";
  if ("unavailable" in pinning) return `NOT pinned: ${pinning.unavailable}`;
  return `client and workers pinned to CPU ${pinning.cpu} (taskset)`;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${relative(ROOT, CLI)} is missing; run \`npm run build\` (npm run bench does)\n`);
    process.exit(2);
  }
  const sizes = flags.quick ? QUICK : FULL;
  const wanted = (name: string): boolean => flags.only === undefined || name.toLowerCase().includes(flags.only.toLowerCase());
  const header = machine();
  process.stderr.write(`${header}\n`);

  const rows: Row[] = [];
  const placement = new Map<string, string>();
  for (const c of comparisons(sizes)) {
    if (!wanted(`${c.group} ${c.name}`)) continue;
    process.stderr.write(`${c.group}: ${c.name}\n`);
    const pinned = PINNED_GROUPS.includes(c.group);
    const pinning = pinned && flags.pin ? pinToOneCpu() : undefined;
    if (pinning && "unavailable" in pinning) process.stderr.write(`bench: cannot pin to one CPU: ${pinning.unavailable}; running unpinned\n`);
    // One line per group; a failure to pin any of its scenarios shows.
    if (pinned && !placement.get(c.group)?.startsWith("NOT")) placement.set(c.group, describePlacement(pinning));
    let scenarioRows: Row[];
    try {
      scenarioRows = await runComparison(c);
    } finally {
      if (pinning && "restore" in pinning) pinning.restore();
    }
    rows.push(...scenarioRows);
    // Long runs: show each scenario's rows as soon as they exist.
    process.stderr.write(`${comparisonTable(scenarioRows).split("\n").slice(2).join("\n")}\n`);
  }
  const memory: MemoryRow[] = [];
  if (wanted("Memory")) {
    process.stderr.write(`Memory: ${sizes.memoryRequests} no-op requests\n`);
    for (const v of memoryVariants()) memory.push(await runMemory(v, sizes.memoryRequests, sizes.memorySettleMs));
  }
  const tsc = wanted("tsc") ? await runTscBench(flags.quick) : "not run (--only)";
  const client = wanted("client start-up") ? await runClientStartupBench(flags.quick) : "not run (--only)";

  const floor = targetsTable(checkFloor(rows));
  const sections = [
    `# worker-bridge benchmark${flags.quick ? " (--quick smoke run: figures are not meaningful)" : ""}`,
    header,
    `- sizes: ${sizes.rounds} interleaved rounds × ${sizes.requestsPerRound} requests per variant (×2 for the 8- and 16-in-flight rows), after ${sizes.warmupRequests} warm-up requests; latency is per request as the client sees it`,
    `- placement: ${[...placement].map(([g, p]) => `${g}: ${p}`).join("; ")}${placement.size > 0 ? "; " : ""}every other group: where the scheduler puts them`,
    "## Latency and throughput",
    comparisonTable(rows),
    `## Memory (${sizes.memoryRequests} no-op requests, Bazel proto singleplex; RSS of the worker and all its child processes)`,
    memoryTable(memory),
    // bench/tsc.ts prints its own section heading.
    tsc.startsWith("## ") ? tsc : `## tsc: one-shot vs warm\n\n${tsc}`,
    `## Client start-up: one-shot and through the warm daemon (docs/daemon.md)\n\n${client}`,
    "## Targets (reported, never asserted)",
    targetsTable(checkTargets(rows, memory)),
    "## The per-request floor (issue 14; reported, never asserted)",
    floor,
  ];
  const text = `${sections.join("\n\n")}\n`;
  process.stdout.write(text);
  mkdirSync(dirname(flags.out), { recursive: true });
  writeFileSync(flags.out, text);
  process.stderr.write(`written to ${relative(process.cwd(), flags.out)}\n\nThe per-request floor (issue 14):\n${floor}\n`);
  // Speed is never asserted, but a variant that broke (wrong answer, crash, hang) is a harness
  // failure CI must see. "skipped" (a prerequisite not built) is not.
  const failed = [...rows.filter((r) => r.status === "failed").map((r) => `${r.scenario} / ${r.variant}: ${r.reason ?? ""}`),
    ...memory.filter((r) => r.status === "failed").map((r) => `Memory / ${r.variant}: ${r.reason ?? ""}`)];
  if (tsc.startsWith("failed:")) failed.push("tsc: bench/tsc.ts failed");
  if (client.startsWith("failed:")) failed.push("client start-up: bench/client-startup.ts failed");
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} variant(s) failed:\n${failed.map((f) => `  ${f}`).join("\n")}\n`);
    process.exitCode = 1;
  }
}

await main();
