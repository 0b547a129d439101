// Load drivers shared by the full-size suites (test/load, `npm run test:load`) and the reduced ones
// in the normal `npm test` (test/reliability/load-reduced.test.ts).
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ExecuteResponse } from "../../../src/gen/buck2/worker_pb.js";
import { callExecute, openChannel } from "../../buck2/harness/grpc-client.js";
import { delay, startWorker, type Protocol } from "./bazel-client.js";
import { executeCommand, startBuck2Worker } from "./buck2-worker.js";

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

const HEAP_PROBE = new URL("../fixtures/heap-probe.mjs", import.meta.url);

/**
 * Env for a worker whose live heap the test can read: a preload that answers SIGUSR2 with a full
 * GC and process.memoryUsage() written to a file (fixtures/heap-probe.mjs).
 */
export function heapProbeEnv(): { env: NodeJS.ProcessEnv; read: (pid: number) => Promise<number>; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "wb-heap-"));
  const file = join(dir, "heap.json");
  let seq = 0;
  const env = {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc --import=${HEAP_PROBE.href}`.trim(),
    WB_HEAP_PROBE_FILE: file,
  };
  /** Live heap (heapUsed + external) in MiB right after a full GC in the worker. */
  const read = async (pid: number): Promise<number> => {
    const want = ++seq;
    process.kill(pid, "SIGUSR2");
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const m = JSON.parse(readFileSync(file, "utf8")) as { seq: number; heapUsed: number; external: number };
        if (m.seq >= want) return Math.round(((m.heapUsed + m.external) / 1048576) * 10) / 10;
      } catch {
        // not written yet, or half-written
      }
      if (Date.now() > deadline) throw new Error(`the heap probe in pid ${pid} did not answer (is ${fileURLToPath(HEAP_PROBE)} preloaded?)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { env, read, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic PRNG (mulberry32) so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Figures for RELIABILITY.md: appended as JSON lines when RELIABILITY_FIGURES is set. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ name, ...figures });
  console.log(`[figures] ${line}`);
  const file = process.env.RELIABILITY_FIGURES;
  if (file) appendFileSync(file, `${line}\n`);
}

export interface BazelLoadOptions {
  protocol: Protocol;
  requests: number;
  minInFlight: number;
  maxInFlight: number;
  cancelRate: number;
  seed: number;
  /** Extra worker flags. */
  args?: string[];
  timeoutMs: number;
}

export interface BazelLoadReport {
  requests: number;
  responses: number;
  duplicates: number;
  missing: number;
  cancelsSent: number;
  wasCancelled: number;
  unsolicitedWasCancelled: number;
  wrongOutput: number;
  maxInFlightSeen: number;
  garbage: string | undefined;
  stdoutBytes: number;
  rssBaselineMiB: number;
  /** After the first half of the requests and 1 s idle. */
  rssMidMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  /** Live heap + external after a forced full GC, before and after the load. */
  heapBaselineMiB: number;
  heapAfterMiB: number;
  exitCode: number | null;
  unfinishedResponse: string | undefined;
  seconds: number;
}

/**
 * Multiplex load as Bazel sends it (docs/protocol/bazel-worker.md §5.2, §6): unique ids from 1, a random window of
 * `minInFlight..maxInFlight` requests outstanding, and a random share of them cancelled while in
 * flight. Checks are left to the caller; this only observes.
 */
export async function runBazelMultiplexLoad(o: BazelLoadOptions): Promise<BazelLoadReport> {
  const rand = prng(o.seed);
  const heap = heapProbeEnv();
  const w = startWorker({ protocol: o.protocol, args: ["--concurrency=32", ...(o.args ?? [])], env: heap.env, watchdogMs: o.timeoutMs + 30_000 });
  const started = Date.now();
  // Warm up so the baseline is the serving worker, not a half-loaded one.
  for (let i = 0; i < 50; i++) w.send({ requestId: 1_000_000 + i, arguments: ["--echo=warm"] });
  await w.waitForResponses(50, 30_000);
  await delay(500);
  const rssBaselineMiB = rssMiB(w.pid);
  const heapBaselineMiB = await heap.read(w.pid);
  const warm = w.responses.length;

  const cancelled = new Set<number>();
  const outstanding = new Set<number>();
  let nextId = 1;
  let seen = warm;
  let maxInFlightSeen = 0;
  let rssPeakMiB = rssBaselineMiB;
  let target = o.minInFlight;
  /** Sends ids up to `lastId` and waits until every one of them is answered (or something broke). */
  const phase = async (lastId: number): Promise<void> => {
    while (nextId <= lastId || outstanding.size > 0) {
      for (; seen < w.responses.length; seen++) outstanding.delete(w.responses[seen]!.requestId);
      if (rand() < 0.05) target = o.minInFlight + Math.floor(rand() * (o.maxInFlight - o.minInFlight + 1));
      while (nextId <= lastId && outstanding.size < target) {
        const id = nextId++;
        // Some requests sleep a little so a cancel can find them running, not only queued.
        const args = rand() < 0.3 ? [`--sleep=${1 + Math.floor(rand() * 20)}`, `--echo=r${id}`] : [`--echo=r${id}`];
        w.send({ requestId: id, arguments: args });
        outstanding.add(id);
        if (rand() < o.cancelRate) {
          cancelled.add(id);
          const after = Math.floor(rand() * 8);
          if (after === 0) w.send({ requestId: id, cancel: true });
          else setTimeout(() => w.send({ requestId: id, cancel: true }), after);
        }
      }
      maxInFlightSeen = Math.max(maxInFlightSeen, outstanding.size);
      if (w.exit !== undefined || w.garbage !== undefined) return;
      if (Date.now() - started > o.timeoutMs) return;
      if (nextId % 500 === 0) rssPeakMiB = Math.max(rssPeakMiB, rssMiB(w.pid));
      // Window full (or all sent): sleep until the worker answers something.
      if (outstanding.size >= target || nextId > lastId) await w.activity(50);
      else await new Promise<void>((r) => setImmediate(r));
    }
  };
  // Two equal halves: V8 keeps the heap it grew to, so RSS never drops back to the pre-load
  // figure; a leak shows instead as the second half growing RSS as much as the first did.
  await phase(Math.floor(o.requests / 2));
  await delay(1000);
  const rssMidMiB = rssMiB(w.pid);
  await phase(o.requests);
  rssPeakMiB = Math.max(rssPeakMiB, rssMiB(w.pid));
  await delay(2000);
  const rssAfterMiB = rssMiB(w.pid);
  const heapAfterMiB = await heap.read(w.pid);
  w.closeStdin();
  const exit = await w.waitForExit(20_000);
  heap.cleanup();

  const counts = new Map<number, number>();
  let wasCancelled = 0;
  let unsolicitedWasCancelled = 0;
  let wrongOutput = 0;
  for (const r of w.responses.slice(warm)) {
    counts.set(r.requestId, (counts.get(r.requestId) ?? 0) + 1);
    if (r.wasCancelled) {
      wasCancelled++;
      if (!cancelled.has(r.requestId)) unsolicitedWasCancelled++;
    } else if (r.exitCode === 0 && r.output !== `r${r.requestId}`) wrongOutput++;
  }
  let duplicates = 0;
  let missing = 0;
  for (let id = 1; id <= o.requests; id++) {
    const n = counts.get(id) ?? 0;
    if (n === 0) missing++;
    if (n > 1) duplicates += n - 1;
  }
  return {
    requests: o.requests,
    responses: w.responses.length - warm,
    duplicates,
    missing,
    cancelsSent: cancelled.size,
    wasCancelled,
    unsolicitedWasCancelled,
    wrongOutput,
    maxInFlightSeen,
    garbage: w.garbage,
    stdoutBytes: w.stdoutBytes,
    rssBaselineMiB,
    rssMidMiB,
    rssPeakMiB,
    rssAfterMiB,
    heapBaselineMiB,
    heapAfterMiB,
    exitCode: exit.code,
    unfinishedResponse: w.unfinishedResponse(),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

export interface Buck2LoadReport {
  unary: number;
  unaryOk: number;
  streamed: number;
  streamedOk: number;
  failures: string[];
  violations: string[];
  maxStreamInFlight: number;
  rssBaselineMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  heapBaselineMiB: number;
  heapAfterMiB: number;
  neededSigkill: boolean;
  survivors: number;
  seconds: number;
}

/**
 * `unary` concurrent `Worker.Execute` calls (all issued at once on one HTTP/2 connection, as Buck2
 * does with `concurrency = None`, docs/protocol/buck2-worker.md §6.3, §8) while one `ExecuteStream` carries `streamed`
 * requests at the same time (docs/protocol/buck2-worker.md §6.4).
 */
export async function runBuck2Load(o: { unary: number; streamed: number; timeoutMs: number }): Promise<Buck2LoadReport> {
  const started = Date.now();
  const heap = heapProbeEnv();
  const b = await startBuck2Worker({ streaming: true, args: ["--concurrency=64"], env: { NODE_OPTIONS: heap.env.NODE_OPTIONS!, WB_HEAP_PROBE_FILE: heap.env.WB_HEAP_PROBE_FILE! } });
  if (b.failure) throw new Error(`worker did not start: ${JSON.stringify(b.failure)}`);
  const pid = b.worker.pid!;
  const unaryClient = openChannel(b.worker.dir.socketPath);
  const failures: string[] = [];
  try {
    // Warm-up, then the baseline.
    await Promise.all(Array.from({ length: 20 }, () => callExecute(unaryClient, executeCommand({ argv: ["--echo=warm"] }))));
    await delay(500);
    const rssBaselineMiB = rssMiB(pid);
    const heapBaselineMiB = await heap.read(pid);
    let rssPeakMiB = rssBaselineMiB;
    const sampler = setInterval(() => {
      try {
        rssPeakMiB = Math.max(rssPeakMiB, rssMiB(pid));
      } catch {
        // exited
      }
    }, 100);
    const check = (kind: string, i: number, r: ExecuteResponse): boolean => {
      if (r.exitCode === 0 && r.stderr === `${kind}${i}`) return true;
      failures.push(`${kind}${i}: exit ${r.exitCode} ${JSON.stringify(r.stderr.slice(0, 200))}`);
      return false;
    };
    const unary = Array.from({ length: o.unary }, (_, i) =>
      callExecute(unaryClient, executeCommand({ argv: [`--sleep=${i % 7}`, `--echo=u${i}`] })).then(
        (r) => check("u", i, r),
        (err: unknown) => {
          failures.push(`u${i}: ${(err as Error).message}`);
          return false;
        },
      ),
    );
    const streamed = Array.from({ length: o.streamed }, (_, i) =>
      b.worker.execute(executeCommand({ argv: [`--sleep=${i % 5}`, `--echo=s${i}`] })).then((out) => {
        if (out.kind === "response") return check("s", i, out.response);
        failures.push(`s${i}: ${out.kind} ${out.message}`);
        return false;
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([Promise.all(unary), Promise.all(streamed)]);
    const done = await Promise.race([all, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), o.timeoutMs)))]);
    clearTimeout(timer);
    clearInterval(sampler);
    if (done === undefined) failures.push(`not all calls answered within ${o.timeoutMs} ms`);
    const [u, s] = done ?? [[], []];
    await delay(2000);
    const rssAfterMiB = rssMiB(pid);
    rssPeakMiB = Math.max(rssPeakMiB, rssAfterMiB);
    const heapAfterMiB = await heap.read(pid);
    unaryClient.close();
    const end = await b.worker.terminate(10_000);
    return {
      unary: o.unary,
      unaryOk: u.filter(Boolean).length,
      streamed: o.streamed,
      streamedOk: s.filter(Boolean).length,
      failures: failures.slice(0, 20),
      violations: b.violations,
      maxStreamInFlight: b.worker.maxInFlight,
      rssBaselineMiB,
      rssPeakMiB,
      rssAfterMiB,
      heapBaselineMiB,
      heapAfterMiB,
      neededSigkill: end.neededSigkill,
      survivors: end.survivors.length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    unaryClient.close();
    heap.cleanup();
  }
}

