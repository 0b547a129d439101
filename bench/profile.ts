// `node --import tsx bench/profile.ts [--door=bazel-proto|bazel-json|buck2] [--host=inline|process|floor]
//   [--requests=N] [--in-flight=N]`: drives the bridge under `node --cpu-prof` and prints where its
// main thread spends its time (self time per function, top 30). `--host=floor` profiles the plain-Node
// pipe echo the bench compares the Bazel doors with, to read both profiles side by side. Profiles land in bench/results/profiles.tmp/ (gitignored).
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { grpcWorker } from "./lib/grpc-target.js";
import { pipeWorker } from "./lib/pipe-target.js";
import { runBatch } from "./lib/target.js";
import { CLI, ROOT } from "./scenarios.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const flag = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

const door = flag("door", "bazel-proto");
const host = flag("host", "inline");
const requests = Number(flag("requests", "20000"));
const inFlight = Number(flag("in-flight", "1"));
const dir = join(ROOT, "bench", "results", "profiles.tmp");
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));
const nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250"];
const label = `bridge ${door} --host=${host}`;
const floorArgs = [...nodeArgs, join(ROOT, "bench", "workers", "floor-pipe-echo.mjs"), `--format=${door === "bazel-json" ? "json" : "proto"}`];
const variant =
  door === "buck2"
    ? grpcWorker({ label, command: process.execPath, args: [...nodeArgs, CLI, "--tool", "probe", `--host=${host}`], mode: "execute" })
    : pipeWorker({
        label,
        command: process.execPath,
        args:
          host === "floor"
            ? floorArgs
            : [...nodeArgs, CLI, "--tool", "probe", "--persistent_worker", `--host=${host}`, ...(door === "bazel-json" ? ["--protocol=json"] : [])],
        format: door === "bazel-json" ? "json" : "proto",
        multiplex: inFlight > 1,
        maxInFlight: inFlight,
      });

const target = await variant.start();
await runBatch(target, 500, inFlight, 60_000);
const samples = await runBatch(target, requests, inFlight, 600_000);
await target.close();
process.stderr.write(`${requests} requests in ${samples.wallMs.toFixed(0)} ms (${((samples.wallMs * 1000) / requests).toFixed(1)} µs each)\n`);

const fresh = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
fresh.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
for (const file of fresh) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    total += t;
    const f = node.callFrame;
    const where = f.url === "" ? "" : ` ${f.url.replace(/^.*\/(node_modules|dist|src)\//, "$1/")}:${f.lineNumber + 1}`;
    const key = `${f.functionName || "(anonymous)"}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  }
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30);
  process.stdout.write(`\n## ${file} (${(total / 1000).toFixed(0)} ms sampled)\n\n| self % | self ms | function |\n|--:|--:|---|\n`);
  for (const [name, t] of top) process.stdout.write(`| ${((t / total) * 100).toFixed(1)} | ${(t / 1000).toFixed(1)} | ${name} |\n`);
}
