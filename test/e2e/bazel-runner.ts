import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BazelSession, bazelVersion, describeExit, findBazel, type BuildRun } from "./support/bazel-session.js";

/**
 * Runs the `bazel-demo/` workspace with real Bazel and reports what ran: which worker modes, how
 * many actions, how many distinct worker processes served them, and how long each build took.
 * Used by the e2e tests and by `npm run demo`.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEMO_WORKSPACE = resolve(REPO_ROOT, "bazel-demo");
/** The demo's own targets; `bazel-demo/ts/` (TypeScript) is built by its own tests. */
export const DEMO_TARGETS = ["//demo/..."];

/** The demo's mnemonics and the worker mode each one asks Bazel for (see bazel-demo/rules/probe.bzl). */
export const DEMO_MODES = {
  ProbeProto: { target: "//demo:proto", protocol: "proto", multiplex: false },
  ProbeJson: { target: "//demo:json", protocol: "json", multiplex: false },
  ProbeMultiplex: { target: "//demo:multiplex", protocol: "proto", multiplex: true },
  ProbeMultiplexJson: { target: "//demo:multiplex_json", protocol: "json", multiplex: true },
} as const;
export type DemoMnemonic = keyof typeof DEMO_MODES;
export const DEMO_MNEMONICS = Object.keys(DEMO_MODES) as DemoMnemonic[];

/** `--strategy=<Mnemonic>=local` for every demo mnemonic: the one-shot path (docs/protocol/bazel-worker.md §3.1). */
export const LOCAL_STRATEGY_FLAGS = DEMO_MNEMONICS.map((m) => `--strategy=${m}=local`);

export interface ModeReport {
  mnemonic: DemoMnemonic;
  protocol: "proto" | "json";
  multiplex: boolean;
  actions: number;
  distinctPids: number;
}

export interface BuildReport {
  name: string;
  strategy: "worker" | "local";
  flags: string[];
  wallMs: number;
  /** Bazel's own count, e.g. `{ internal: 1, worker: 24 }`. */
  processes: Record<string, number>;
  modes: ModeReport[];
}

export type BazelDemoResult =
  | { ran: false; reason: string }
  | { ran: true; bazel: string; version: string; serverStartMs: number; builds: BuildReport[]; totalMs: number };

export interface BazelDemoOptions {
  /** Bazel binary; `bazel` on PATH by default. */
  bazel?: string;
  /** Per-build deadline for the watchdog. */
  deadlineMs?: number;
  /** Progress lines (e.g. console.log). */
  log?: (line: string) => void;
}

/** Summarises one build per demo mnemonic from the probe's `action=`/`pid=` lines. */
export function summarize(name: string, strategy: "worker" | "local", flags: string[], run: BuildRun): BuildReport {
  const modes = DEMO_MNEMONICS.map((mnemonic): ModeReport => {
    const actions = run.actions.filter((a) => a.mnemonic === mnemonic);
    const mode = DEMO_MODES[mnemonic];
    return {
      mnemonic,
      protocol: mode.protocol,
      multiplex: mode.multiplex,
      actions: actions.length,
      distinctPids: new Set(actions.map((a) => a.pid)).size,
    };
  });
  return { name, strategy, flags, wallMs: run.wallMs, processes: run.processes, modes };
}

/**
 * Three builds on one private Bazel server (started first, timed separately): the first build
 * (new workers), a warm one (the same actions again, salted so they re-run, served by the workers
 * already running), and one-shot (`--strategy=<Mnemonic>=local`). Resolves `{ ran: false }` when
 * bazel is not installed; rejects with Bazel's output when a build fails. The server is always
 * shut down.
 */
export async function runBazelDemo(options: BazelDemoOptions = {}): Promise<BazelDemoResult> {
  const bazel = options.bazel ?? findBazel();
  if (bazel === undefined) return { ran: false, reason: "bazel is not on PATH (Debian: apt-get install bazel-bootstrap)" };
  const log = options.log ?? (() => undefined);
  const version = bazelVersion(bazel);
  const session = await BazelSession.create({
    bazel,
    workspace: DEMO_WORKSPACE,
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
  });
  const started = performance.now();
  const builds: BuildReport[] = [];
  let serverStartMs = 0;
  try {
    // Start the server first so the cold build's time is Bazel's analysis plus the workers.
    log("bazel info release   (starts a private Bazel server)");
    const info = await session.run("info", ["release"]);
    if (info.exitCode !== 0 || info.timedOut) throw new Error(`bazel info failed: ${describeExit(info)}\n${info.stderr.slice(-4000)}`);
    serverStartMs = info.wallMs;
    const plan: { name: string; strategy: "worker" | "local"; flags: string[] }[] = [
      { name: "worker (first build, new workers)", strategy: "worker", flags: [] },
      { name: "worker (warm, same workers)", strategy: "worker", flags: ["--define=probe_salt=warm"] },
      { name: "one-shot (--strategy=...=local)", strategy: "local", flags: ["--define=probe_salt=local", ...LOCAL_STRATEGY_FLAGS] },
    ];
    for (const step of plan) {
      log(`bazel build ${DEMO_TARGETS.join(" ")} ${step.flags.join(" ")}`.trimEnd());
      const run = await session.build(DEMO_TARGETS, step.flags);
      if (run.exitCode !== 0 || run.timedOut) {
        throw new Error(`bazel build (${step.name}) failed: ${describeExit(run)}\n${run.stderr.slice(-4000)}`);
      }
      builds.push(summarize(step.name, step.strategy, step.flags, run));
    }
  } finally {
    await session.dispose();
  }
  return { ran: true, bazel, version, serverStartMs, builds, totalMs: performance.now() - started };
}

/** Human-readable lines for a demo report. */
export function formatBazelDemo(result: BazelDemoResult): string[] {
  if (!result.ran) return [`real Bazel: skipped (${result.reason})`];
  const lines = [`real Bazel ${result.version} (${result.bazel}): server start ${(result.serverStartMs / 1000).toFixed(1)} s`];
  for (const b of result.builds) {
    const processes = Object.entries(b.processes)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    lines.push(`  ${b.name}: ${(b.wallMs / 1000).toFixed(1)} s wall, processes: ${processes}`);
    for (const m of b.modes) {
      const kind = `${m.protocol}${m.multiplex ? " multiplex" : " singleplex"}`;
      lines.push(`    ${m.mnemonic.padEnd(19)} ${kind.padEnd(17)} ${m.actions} actions on ${m.distinctPids} process(es)`);
    }
  }
  return lines;
}
