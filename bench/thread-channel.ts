// `node --import tsx bench/thread-channel.ts [--requests=N] [--rounds=N]`: what a round trip
// between the bridge and a tool thread costs over a MessagePort, before any tool code runs, for
// the ways a job can travel (issue 14, --host=thread):
//   - objects: the job and its answer posted as plain objects (structured clone both ways; what the
//     thread host does, src/supervisor/thread-host.ts);
//   - frames: the process host's binary codec (src/supervisor/tool-process-ipc.ts), each frame
//     body copied into its own ArrayBuffer and transferred;
//   - frames-copied: the same ArrayBuffers posted without a transfer list (cloned).
// One at a time (latency) and 8 in flight (throughput); variants take turns every round so machine
// load hits both alike; wall and CPU (both threads: process.cpuUsage) µs per round trip. Read the
// ratios, not the absolute times.
import { isMainThread, parentPort, Worker } from "node:worker_threads";
import { loadavg } from "node:os";
import type { PreparedJob } from "../src/core/job.js";
import { decodeJob, decodeToHost, decodeToTool, encodeRun, encodeToHost, EnvBase } from "../src/supervisor/tool-process-ipc.js";
import { FRAME_HEADER_BYTES } from "../src/supervisor/frame-channel.js";

type Mode = "objects" | "frames" | "frames-copied";

/**
 * A codec frame's body in an ArrayBuffer of its own: small frames live in slices of Node's shared
 * Buffer pool, and posting a view would clone the whole pool slab.
 */
function frameToTransfer(frame: Buffer): ArrayBuffer {
  const body = new ArrayBuffer(frame.length - FRAME_HEADER_BYTES);
  new Uint8Array(body).set(frame.subarray(FRAME_HEADER_BYTES));
  return body;
}

function frameFromTransfer(body: ArrayBuffer): Buffer {
  return Buffer.from(body);
}
const START_ENV = Object.freeze({ ...(process.env as Record<string, string>) });

if (!isMainThread) {
  const port = parentPort!;
  port.on("message", (m: { mode: Mode; body: ArrayBuffer } | { mode: Mode; job: Record<string, unknown> }) => {
    if (m.mode === "objects") {
      const job = (m as unknown as { job: { seq: number } & Record<string, unknown> }).job;
      // What the tool side builds from it either way: a PreparedJob on the start env.
      decodeJob(job as unknown as Parameters<typeof decodeJob>[0], START_ENV);
      port.postMessage({ mode: "objects", done: { t: "done", seq: job.seq, exitCode: 0, output: "", rss: -1 } });
    } else {
      const message = decodeToTool(frameFromTransfer((m as { body: ArrayBuffer }).body));
      if (message.t !== "run") throw new Error("expected a run frame");
      decodeJob(message, START_ENV);
      const body = frameToTransfer(encodeToHost({ t: "done", seq: message.seq, exitCode: 0, output: "", rss: -1 }));
      if (m.mode === "frames") port.postMessage({ mode: m.mode, body }, [body]);
      else port.postMessage({ mode: m.mode, body });
    }
  });
} else {
  const flag = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt);
  const requests = flag("requests", 5000);
  const rounds = flag("rounds", 6);
  // Under tsx a thread needs tsx registered first (see threadEntry in src/supervisor/thread-host.ts).
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(import.meta.url)});`;
  const worker = new Worker(new URL(`data:text/javascript,${bootstrap}`));
  const base = new EnvBase(START_ENV);
  const job: PreparedJob = { id: 1, origin: "bazel", args: ["--flag=value", "src/a.ts"], inputs: [], cwd: process.cwd(), env: START_ENV, verbosity: 0 };
  const waiting = new Map<number, () => void>();
  let seq = 0;
  worker.on("message", (m: { mode: Mode; done?: { seq: number }; body?: ArrayBuffer }) => {
    const s = m.mode === "objects" ? m.done!.seq : (decodeToHost(frameFromTransfer(m.body!)) as { seq: number }).seq;
    waiting.get(s)?.();
    waiting.delete(s);
  });
  const roundTrip = (mode: Mode): Promise<void> =>
    new Promise((resolve) => {
      const s = ++seq;
      waiting.set(s, resolve);
      if (mode === "objects") {
        const { set, unset } = base.diff(job.env);
        worker.postMessage({ mode, job: { t: "run", seq: s, id: job.id, origin: job.origin, args: job.args, inputs: job.inputs, cwd: job.cwd, verbosity: job.verbosity, ...envFields(set, unset) } });
      } else {
        const body = frameToTransfer(encodeRun(s, job, base));
        if (mode === "frames") worker.postMessage({ mode, body }, [body]);
        else worker.postMessage({ mode, body });
      }
    });
  /** The env difference in IpcJob's shape (empty here: jobs carry the start env, as most do). */
  function envFields(set: string[] | undefined, unset: string[] | undefined): { envSet?: Record<string, string>; envUnset?: string[] } {
    const out: { envSet?: Record<string, string>; envUnset?: string[] } = {};
    if (set) {
      const envSet: Record<string, string> = {};
      for (let i = 0; i < set.length; i += 2) envSet[set[i]!] = set[i + 1]!;
      out.envSet = envSet;
    }
    if (unset) out.envUnset = unset;
    return out;
  }
  async function measure(mode: Mode, inFlight: number): Promise<{ wall: number; cpu: number }> {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let sent = 0;
    const lane = async (): Promise<void> => {
      while (sent < requests) {
        sent++;
        await roundTrip(mode);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const wall = Number(process.hrtime.bigint() - t0) / 1000 / requests;
    const c = process.cpuUsage(cpu0);
    return { wall, cpu: (c.user + c.system) / requests };
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const modes: Mode[] = ["objects", "frames", "frames-copied"];
  for (const mode of modes) await measure(mode, 1); // warm-up
  const lines = [`load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${rounds} rounds × ${requests} round trips`, "", "| variant | in flight | wall µs/round trip (median) | CPU µs/round trip (median) |", "|---|---|---|---|"];
  for (const inFlight of [1, 8]) {
    const got = new Map<Mode, { wall: number[]; cpu: number[] }>(modes.map((m) => [m, { wall: [], cpu: [] }]));
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        const m = await measure(mode, inFlight);
        got.get(mode)!.wall.push(m.wall);
        got.get(mode)!.cpu.push(m.cpu);
      }
    }
    for (const mode of modes) {
      const g = got.get(mode)!;
      lines.push(`| ${mode} | ${inFlight} | ${median(g.wall).toFixed(1)} | ${median(g.cpu).toFixed(1)} |`);
    }
  }
  lines.push("", `load average at end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  await worker.terminate();
}
