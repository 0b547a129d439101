// Regenerates RELIABILITY.md from a real run of the reliability suite.
//
//   node --import tsx scripts/reliability-report.ts          # test/reliability (reduced load)
//   node --import tsx scripts/reliability-report.ts --load   # ... plus the full-size test/load
//
// Builds dist/ first (the tests drive the built CLI), runs vitest with its JSON reporter, collects
// the load figures the tests record (RELIABILITY_FIGURES), and renders one table row per test.
// Exits non-zero when any test failed — the file is still written, with the failures in it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const VITEST = join(ROOT, "node_modules", "vitest", "vitest.mjs");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface AssertionResult {
  ancestorTitles: string[];
  title: string;
  status: "passed" | "failed" | "pending" | "skipped" | "todo";
  duration?: number | null;
  failureMessages: string[];
}
interface FileResult {
  name: string;
  assertionResults: AssertionResult[];
}
interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: FileResult[];
}

function runVitest(args: string[], outFile: string, figuresFile: string): JsonReport {
  const r = spawnSync(process.execPath, [VITEST, "run", ...args, "--reporter=default", "--reporter=json", `--outputFile.json=${outFile}`], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, RELIABILITY_FIGURES: figuresFile },
  });
  try {
    return JSON.parse(readFileSync(outFile, "utf8")) as JsonReport;
  } catch {
    throw new Error(`vitest produced no JSON report (exit ${r.status}); see its output above`);
  }
}

/** What each test file exercises, for the table's first column. */
const AREA: Record<string, string> = {
  "properties.test.ts": "Fuzzing (fast-check)",
  "faults-bazel.test.ts": "Faults — Bazel",
  "faults-buck2.test.ts": "Faults — Buck2",
  "security.test.ts": "Security",
  "load-reduced.test.ts": "Load (reduced, npm test)",
  "bazel-multiplex.load.test.ts": "Load (full, npm run test:load)",
  "buck2.load.test.ts": "Load (full, npm run test:load)",
};

const esc = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** "fault: expectation (docs/protocol/<doc>.md §x)" → [fault, expectation]; titles without ':' are all fault. */
function splitTitle(title: string): [string, string] {
  const i = title.indexOf(": ");
  if (i < 0) return [title, ""];
  return [title.slice(0, i), title.slice(i + 2)];
}

function statusCell(a: AssertionResult): string {
  const ms = a.duration != null ? ` (${(a.duration / 1000).toFixed(1)} s)` : "";
  if (a.status === "passed") return `✅ held${ms}`;
  if (a.status === "failed") return `❌ FAILED${ms}: ${esc((a.failureMessages[0] ?? "").split("\n")[0]!.slice(0, 200))}`;
  return `⏭️ skipped (reason printed by the test)`;
}

function renderTests(report: JsonReport): string[] {
  const lines = ["| Area | Where | Fault / load / input | Expected | Observed |", "|---|---|---|---|---|"];
  for (const file of report.testResults) {
    const base = file.name.split("/").pop()!;
    for (const a of file.assertionResults) {
      const [what, expected] = splitTitle(a.title);
      const where = a.ancestorTitles.join(" › ").replace(/'/g, "");
      lines.push(`| ${AREA[base] ?? base} | ${esc(where)} | ${esc(what)} | ${esc(expected)} | ${statusCell(a)} |`);
    }
  }
  return lines;
}

function renderFigures(figures: Record<string, unknown>[]): string[] {
  if (figures.length === 0) return ["(no load figures recorded)"];
  const bazel = figures.filter((f) => "cancelsSent" in f);
  const buck2 = figures.filter((f) => "unary" in f);
  const out: string[] = [];
  if (bazel.length > 0) {
    out.push(
      "| Run | Requests | Responses | Missing | Duplicates | Cancels sent | was_cancelled | Unsolicited was_cancelled | Max in flight | Non-protocol stdout | Live heap MiB after GC: before → after | RSS MiB baseline → half → after (peak) | Exit | Seconds |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const f of bazel) {
      out.push(
        `| ${f.name} | ${f.requests} | ${f.responses} | ${f.missing} | ${f.duplicates} | ${f.cancelsSent} | ${f.wasCancelled} | ${f.unsolicitedWasCancelled} | ${f.maxInFlightSeen} | ${f.garbage === undefined ? "0 bytes" : esc(String(f.garbage))} | ${f.heapBaselineMiB} → ${f.heapAfterMiB} | ${f.rssBaselineMiB} → ${f.rssMidMiB} → ${f.rssAfterMiB} (${f.rssPeakMiB}) | ${f.exitCode} | ${f.seconds} |`,
      );
    }
    out.push("");
  }
  if (buck2.length > 0) {
    out.push(
      "| Run | Unary Execute ok | ExecuteStream ok | Failures | Harness violations | Stream max in flight | Live heap MiB after GC: before → after | RSS MiB baseline → after (peak) | SIGKILL needed | Survivors | Seconds |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const f of buck2) {
      out.push(
        `| ${f.name} | ${f.unaryOk}/${f.unary} | ${f.streamedOk}/${f.streamed} | ${(f.failures as unknown[]).length} | ${(f.violations as unknown[]).length} | ${f.maxStreamInFlight} | ${f.heapBaselineMiB} → ${f.heapAfterMiB} | ${f.rssBaselineMiB} → ${f.rssAfterMiB} (${f.rssPeakMiB}) | ${f.neededSigkill} | ${f.survivors} | ${f.seconds} |`,
      );
    }
  }
  return out;
}

function main(): number {
  const withLoad = process.argv.includes("--load");
  execFileSync(process.execPath, [TSC, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  const tmp = mkdtempSync(join(tmpdir(), "wb-reliability-"));
  const figuresFile = join(tmp, "figures.jsonl");
  writeFileSync(figuresFile, "");
  try {
    const loadBefore = loadavg()[0]!.toFixed(1);
    const reports = [runVitest(["test/reliability"], join(tmp, "reliability.json"), figuresFile)];
    if (withLoad) reports.push(runVitest(["--config", "vitest.load.config.ts"], join(tmp, "load.json"), figuresFile));
    const figures = readFileSync(figuresFile, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const total = reports.reduce((n, r) => n + r.numTotalTests, 0);
    const passed = reports.reduce((n, r) => n + r.numPassedTests, 0);
    const failed = reports.reduce((n, r) => n + r.numFailedTests, 0);
    const skipped = reports.reduce((n, r) => n + r.numPendingTests, 0);
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    // The report itself is the one change a clean regeneration makes; anything else means the run saw uncommitted code.
    const dirty = execFileSync("git", ["status", "--porcelain", "--", ".", ":!RELIABILITY.md"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    const md = [
      "# Reliability",
      "",
      "<!-- Generated by scripts/reliability-report.ts from a real run; do not edit by hand. -->",
      "",
      "What worker-bridge was put through, and what it did. Every row is one automated test; the",
      "table is rendered from vitest's JSON report of the run described here. Regenerate with",
      "`node --import tsx scripts/reliability-report.ts --load` (drop `--load` to skip the full-size load).",
      "",
      `Run: ${new Date().toISOString()} · commit ${commit}${dirty ? " (plus uncommitted work in the tree at the time)" : ""} · Node ${process.version} · ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}) · ${withLoad ? "reliability suite + full load" : "reliability suite (reduced load only)"} · load average ${loadBefore} at the start, ${loadavg()[0]!.toFixed(1)} at the end (a shared machine: wall times are not speed figures).`,
      "",
      `**${passed} passed, ${failed} failed, ${skipped} skipped of ${total}.**`,
      "",
      "## Load figures",
      "",
      ...renderFigures(figures),
      "",
      "Live heap is `heapUsed + external` in the worker right after a forced full GC (a test-only preload,",
      "`test/reliability/fixtures/heap-probe.mjs`, answers SIGUSR2): this is the figure that must return to",
      "baseline, and the tests require it within 4 MiB. RSS (Linux `/proc/<pid>/status`) does not return to",
      "the pre-load figure because V8 keeps the pages it grew to; it is reported and loosely bounded.",
      "",
      "## Every test",
      "",
      ...reports.flatMap(renderTests),
      "",
      "## Policies these tests pin down",
      "",
      "- **Argfiles** resolve against the job's cwd (`sandbox_dir` applied). Absolute paths and `..` are",
      "  allowed: build systems pass them (Buck2 project-relative paths, remote executors absolute ones)",
      "  and a request's arguments already name every file the tool reads, so refusing them would protect",
      "  nothing. Refused: anything that is not a regular file (a FIFO would block forever, a device never",
      "  ends), files over 256 MiB, cycles, nesting deeper than 32, and binary (NUL) content — each with an",
      "  error naming the path, in the response, while the worker keeps serving.",
      "- **`sandbox_dir`** is resolved lexically against the worker's cwd; a relative path that climbs out",
      "  is refused. Absolute paths are accepted (remote executors name the action directory that way).",
      "  Symlinks are not resolved on purpose (docs/protocol/bazel-worker.md §3.4: never realpath inside a sandbox).",
      "- **Buck2 socket**: created 0600 whatever the launcher's umask; a socket directory that is",
      "  world-writable without the sticky bit is refused; a live socket, a non-socket file or a symlink at",
      "  the path is never replaced; a stale socket is.",
      "- **Logs** never carry env values below `--log-level=trace`.",
      "",
    ].join("\n");
    writeFileSync(join(ROOT, "RELIABILITY.md"), md);
    console.log(`wrote ${relative(process.cwd(), join(ROOT, "RELIABILITY.md"))}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
    return failed > 0 ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = main();
