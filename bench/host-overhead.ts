// `node --import tsx bench/host-overhead.ts [--requests=N] [--rounds=N]` (after `npm run build`):
// per-request cost of --host=process over --host=inline on the probe tool, measured on the built
// hosts (dist/) with one job at a time. Hosts take turns every BATCH requests in one run so machine
// load hits all of them alike; the answer is the ratio and the difference of medians, not absolute
// time. Two bare echo children are measured alongside: one on Node's IPC channel (what the process
// host used before issue 14), and one on a socket at fd 3 with a length-prefixed frame each way
// (what it uses now, src/supervisor/frame-channel.ts): the floor no process host can beat.
import { spawn } from "node:child_process";
import type { Socket } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import type { PreparedJob, ToolHost } from "../src/core/job.js";
import { loadBuiltHostModules, numericFlag as flag } from "./lib/built-hosts.js";

const { createHost, createLogger, loadTool, resolveToolModule } = await loadBuiltHostModules("host-overhead");
const REQUESTS = flag("requests", 2000);
const ROUNDS = flag("rounds", 5);
const WARMUP = 300;
const BATCH = 100;

type Variant = { name: string; kind: "inline" | "process" };
const VARIANTS: Variant[] = [
  { name: "inline", kind: "inline" },
  { name: "process (fd 3 frames, default)", kind: "process" },
];

const toolModule = resolveToolModule("probe", process.cwd());
const tool = await loadTool(toolModule);
const logger = createLogger({ level: "error" });
// A realistic request: a couple of args and the whole bridge env (what the dispatcher hands hosts).
const job: PreparedJob = {
  id: 1,
  origin: "bazel",
  args: ["--echo=hello", "--exit=0"],
  inputs: [],
  cwd: process.cwd(),
  env: { ...(process.env as Record<string, string>) },
  verbosity: 0,
};

async function makeHost(v: Variant): Promise<ToolHost> {
  return createHost({ kind: v.kind, toolModule, tool, startupArgs: [], concurrency: 1, toolProcesses: 1, abortGraceMs: 3000, logger });
}

type Runner = () => Promise<void>;

function hostRunner(host: ToolHost): Runner {
  const signal = new AbortController().signal;
  return async () => {
    const r = await host.run({ ...job, env: { ...job.env } }, signal);
    if (r.exitCode !== 0) throw new Error(`probe failed: ${r.output}`);
  };
}

/** A floor: a child that answers each IPC message at once, with nothing of the bridge in it. */
function ipcFloorRunner(): { run: Runner; close(): void } {
  const child = spawn(process.execPath, ["-e", "process.on('message', (m) => process.send({ t: 'done', seq: m.seq, exitCode: 0, output: 'hello', rss: -1 }))"], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    serialization: "json",
  });
  let seq = 0;
  return {
    run: () =>
      new Promise<void>((resolve) => {
        child.once("message", () => resolve());
        child.send({ t: "run", seq: seq++, id: 1, origin: "bazel", args: job.args, cwd: job.cwd, verbosity: 0 });
      }),
    close: () => child.kill(),
  };
}

/**
 * The other floor: a child answering each frame on its fd 3 with a done-sized frame (one frame per
 * read is safe with one request at a time), no decoding on either side.
 */
function socketFloorRunner(): { run: Runner; close(): void } {
  const child = spawn(
    process.execPath,
    ["-e", "const s = new (require('net').Socket)({ fd: 3, readable: true, writable: true }); const a = Buffer.alloc(34); a.writeUInt32LE(30, 0); s.on('data', () => s.write(a)); s.on('end', () => process.exit(0));"],
    { stdio: ["ignore", "ignore", "inherit", "pipe"] },
  );
  const socket = child.stdio[3] as Socket;
  const request = Buffer.alloc(4 + 96);
  request.writeUInt32LE(96, 0);
  let answer: (() => void) | undefined;
  socket.on("data", () => answer?.());
  return {
    run: () =>
      new Promise<void>((resolve) => {
        answer = resolve;
        socket.write(request);
      }),
    close: () => child.kill(),
  };
}

async function sample(run: Runner, n: number, into: number[] | undefined): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    const t1 = process.hrtime.bigint();
    into?.push(Number(t1 - t0) / 1000);
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const hosts = await Promise.all(VARIANTS.map(makeHost));
const floors = [ipcFloorRunner(), socketFloorRunner()];
const runners: Runner[] = [...hosts.map(hostRunner), ...floors.map((f) => f.run)];
const names = [...VARIANTS.map((v) => v.name), "floor: bare Node IPC echo child (json)", "floor: bare fd 3 socket echo child (one frame each way)"];
const samples = runners.map(() => [] as number[]);
for (const run of runners) await sample(run, WARMUP, undefined);
for (let done = 0; done < ROUNDS * REQUESTS; done += BATCH) {
  for (let i = 0; i < runners.length; i++) await sample(runners[i]!, BATCH, samples[i]);
}
await Promise.all(hosts.map((h) => h.close()));
for (const f of floors) f.close();

const inlineMedian = percentile(samples[0]!, 50);
const lines = [
  `host overhead on the probe tool: ${ROUNDS * REQUESTS} sequential requests per host in turns of ${BATCH} (after ${WARMUP} warm-up), node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`,
  "",
  "| host | median µs | p90 µs | p99 µs | median vs inline | added per request (median) |",
  "|---|---|---|---|---|---|",
];
names.forEach((name, i) => {
  const xs = samples[i]!;
  const med = percentile(xs, 50);
  lines.push(
    `| ${name} | ${med.toFixed(1)} | ${percentile(xs, 90).toFixed(1)} | ${percentile(xs, 99).toFixed(1)} | ${(med / inlineMedian).toFixed(2)}x | ${i === 0 ? "-" : `${(med - inlineMedian).toFixed(1)} µs`} |`,
  );
});
process.stdout.write(`${lines.join("\n")}\n`);
