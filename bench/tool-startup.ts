// `node --import tsx bench/tool-startup.ts [--runs=N]`: how long a tool process takes from fork to
// "ready" (tool loaded and initialised), and the CPU and memory that costs, by what the tool
// imports. Spawns the built tool-process entry the way the process host does; variants alternate
// round by round so load on a shared machine hits them alike. Linux only (/proc).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { numericFlag } from "./lib/built-hosts.js";
import { percentile } from "./lib/stats.js";
import type * as FrameChannelModule from "../src/supervisor/frame-channel.js";
import type * as ToolProcessIpc from "../src/supervisor/tool-process-ipc.js";

const ROOT = new URL("../", import.meta.url);
const ENTRY = fileURLToPath(new URL("dist/supervisor/tool-process-main.js", ROOT));
const CONFIG_ENV = "WORKER_BRIDGE_TOOL_PROCESS_CONFIG";
const RUNS = numericFlag("runs", 20);
const TICK_MS = 10; // USER_HZ is 100 on Linux

if (!existsSync(ENTRY)) {
  process.stderr.write("bench/tool-startup: dist/ is missing; run `npm run build` first\n");
  process.exit(2);
}
const { FrameChannel } = (await import(new URL("dist/supervisor/frame-channel.js", ROOT).href)) as typeof FrameChannelModule;
const { decodeToHost } = (await import(new URL("dist/supervisor/tool-process-ipc.js", ROOT).href)) as typeof ToolProcessIpc;

const variants = [
  { name: "imports nothing (floor)", module: "workers/startup-tool-bare.mjs" },
  { name: 'imports "worker-bridge"', module: "workers/startup-tool-root.mjs" },
  { name: 'imports "worker-bridge/tool"', module: "workers/startup-tool-subpath.mjs" },
].filter((v) => existsSync(fileURLToPath(new URL(v.module, import.meta.url))));

interface Sample {
  ms: number;
  cpuMs: number;
  rssMb: number;
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
}

function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) / 1024;
}

function startOnce(toolModule: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const config = { toolModule: new URL(toolModule, import.meta.url).href, startupArgs: [], reportRss: false };
    const child = spawn(process.execPath, [ENTRY], {
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
      stdio: ["ignore", "ignore", "inherit", "pipe"],
    });
    // The tool process loads its tool at once and says "ready" on its fd 3 channel.
    const channel = new FrameChannel(
      child.stdio[3] as Socket,
      (frame) => {
        const m = decodeToHost(frame);
        if (m.t === "ready") {
          const sample = { ms: performance.now() - t0, cpuMs: cpuMs(child.pid!), rssMb: rssMb(child.pid!) };
          child.kill("SIGKILL");
          child.once("exit", () => resolve(sample));
        } else if (m.t === "init-failed") {
          reject(new Error(m.message));
        }
      },
      (reason) => reject(new Error(reason)),
    );
    child.once("exit", (code, signal) => {
      channel.close();
      if (code !== null && code !== 0) reject(new Error(`tool process exited with ${code ?? signal}`));
    });
  });
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
const load = loadavg()[0]!.toFixed(2);
for (let round = 0; round < RUNS; round++) {
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(round + k) % variants.length]!;
    samples.get(v.name)!.push(await startOnce(v.module));
  }
}
const floor = median(samples.get(variants[0]!.name)!.map((s) => s.ms));
const lines = [
  `tool process start-up, fork to ready: ${RUNS} runs per variant, load average ${load} at start, ${loadavg()[0]!.toFixed(2)} at end`,
  "",
  "| tool | median ms | ratio to floor | median CPU ms | median RSS MiB |",
  "|---|---|---|---|---|",
];
for (const v of variants) {
  const s = samples.get(v.name)!;
  const ms = median(s.map((x) => x.ms));
  lines.push(
    `| ${v.name} | ${ms.toFixed(1)} | ${(ms / floor).toFixed(2)} | ${median(s.map((x) => x.cpuMs)).toFixed(0)} | ${median(s.map((x) => x.rssMb)).toFixed(1)} |`,
  );
}
process.stdout.write(`${lines.join("\n")}\n`);
