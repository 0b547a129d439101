// `node --import tsx bench/client-startup.ts [--runs=N] [--quick]`: what a one-shot run of the
// bridge costs against the cost of starting Node at all (docs/daemon.md, "A fast client").
//
//   floor A   `node -e ''`                               the least any Node client can cost
//   floor B   `node write-one-file.mjs`                  a bare script that writes one file
//   oneshot   `worker-bridge --tool probe --write=...`   plain one-shot, no daemon
//   daemon    the same with `--daemon` and a warm daemon
//
// Each process's own CPU time (user + system, µs) is read by a preloaded hook at exit
// (process.cpuUsage(): µs resolution; /usr/bin/time's 10 ms is too coarse here). Variants run
// interleaved, median of N runs each; the ratios are against the floors of the same run. Nothing
// here asserts speed.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const quick = process.argv.includes("--quick");
const runsArg = process.argv.find((a) => a.startsWith("--runs="));
const RUNS = runsArg ? Number(runsArg.slice("--runs=".length)) : quick ? 5 : 40;

const work = mkdtempSync(join(tmpdir(), "wb-client-bench-"));
chmodSync(work, 0o700);
const daemonDir = join(work, "daemons");
const hook = join(work, "cpu-hook.cjs");
const cpuFile = join(work, "cpu.txt");
writeFileSync(
  hook,
  `const fs = require("node:fs");
process.on("exit", () => { const u = process.cpuUsage(); fs.writeFileSync(process.env.BENCH_CPU_FILE, String(u.user + u.system)); });
`,
);
const writeScript = join(work, "write-one-file.mjs");
writeFileSync(writeScript, `import { writeFileSync } from "node:fs";\nwriteFileSync(process.argv[2], "x");\n`);

interface Variant {
  name: string;
  argv: string[];
}
const out = join(work, "out.txt");
const variants: Variant[] = [
  { name: "floor A: node -e ''", argv: ["-e", ""] },
  { name: "floor B: node script writing one file", argv: [writeScript, out] },
  { name: "one-shot, no daemon", argv: [CLI, "--tool", "probe", `--write=${out}=x`] },
  { name: "one-shot through a warm daemon", argv: [CLI, "--tool", "probe", "--daemon=require", `--daemon-dir=${daemonDir}`, `--write=${out}=x`] },
];

function runOnce(v: Variant): number {
  const r = spawnSync(process.execPath, v.argv, {
    env: { ...process.env, NODE_OPTIONS: `--require ${hook}`, BENCH_CPU_FILE: cpuFile },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${v.name} failed (${r.status}): ${r.stderr}`);
  return Number(readFileSync(cpuFile, "utf8"));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

try {
  // Warm the daemon (and the file cache) before measuring.
  for (const v of variants) runOnce(v);
  const samples = variants.map(() => [] as number[]);
  const load = loadavg()[0]!;
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < variants.length; j++) {
      const k = (i + j) % variants.length; // rotate the order each round
      samples[k]!.push(runOnce(variants[k]!));
    }
  }
  const med = samples.map(median);
  const [floorA, floorB] = [med[0]!, med[1]!];
  const lines = [
    `client start-up CPU (user+system), median of ${RUNS} runs, node ${process.version}, load ${load.toFixed(2)}${quick ? " (--quick: figures meaningless)" : ""}`,
    "",
    "| variant | CPU ms | × floor A | × floor B |",
    "|---|---:|---:|---:|",
    ...variants.map((v, i) => `| ${v.name} | ${(med[i]! / 1000).toFixed(1)} | ${(med[i]! / floorA).toFixed(2)} | ${(med[i]! / floorB).toFixed(2)} |`),
    "",
    `targets (docs/daemon.md): warm daemon ≤ 1.5 × floor A → ${(med[3]! / floorA).toFixed(2)}; one-shot ≤ 1.3 × floor B → ${(med[2]! / floorB).toFixed(2)}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  spawnSync(process.execPath, [CLI, "daemon", "stop", `--daemon-dir=${daemonDir}`], { stdio: "ignore" });
  rmSync(work, { recursive: true, force: true });
}
