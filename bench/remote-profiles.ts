// `node --import tsx bench/remote-profiles.ts [--actions=N] [--tsc] [--json]` (after `npm run build`):
// the same stream of worker actions through every executor profile of the remote emulator
// (test/remote/emulator, docs/protocol/remote-executors.md §10), round-robin in one run, printing the
// median per-action time per profile, whether the worker stayed warm, and the speed-up over the
// one-shot `plain` profile measured in the same run. With --tsc, NativeLink is the profile that
// sends every action a new absolute sandbox_dir: its tsc figure measures whether the tsc tool's
// warm state survives a new directory (docs/tsc.md, "Warm in every directory").
// The `buildbarn + daemon` row is the Buildbarn profile with the actions' env turning the warm
// daemon on (docs/daemon.md); its daemon directory is private to the run and its daemons are
// stopped at the end.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  createExecutor,
  killAllChildren,
  PROFILES,
  workerAction,
  type ActionResult,
  type ProfileName,
  type RemoteAction,
  type RemoteExecutor,
} from "../test/remote/emulator/index.js";

interface Workload {
  readonly name: string;
  readonly actions: number;
  action(profile: ProfileName, i: number): RemoteAction;
  check(result: ActionResult, i: number): string | undefined;
}

const TSCONFIG = JSON.stringify({
  compilerOptions: { outDir: "out", rootDir: "src", declaration: true, strict: true, target: "ES2022", module: "ES2022", moduleResolution: "bundler", types: [] },
  files: ["src/a.ts", "src/b.ts"],
});

function probeWorkload(actions: number): Workload {
  return {
    name: "probe (one small action: echo + write one output)",
    actions,
    action: (profile, i) =>
      workerAction(profile, {
        tool: "probe",
        argfile: { path: "bazel-out/k8-fastbuild/bin/req.args", args: [`--echo=action ${i}`, `--write=out/o.txt=${i}`] },
        outputPaths: ["out/o.txt"],
      }),
    check: (r, i) => (r.exitCode === 0 && r.outputFiles["out/o.txt"] === String(i) ? undefined : `unexpected result ${JSON.stringify(r).slice(0, 300)}`),
  };
}

function tscWorkload(actions: number): Workload {
  return {
    name: "tsc (two-file project, one file edited per action; NativeLink: a new directory per action)",
    actions,
    action: (profile, i) =>
      workerAction(profile, {
        tool: "tsc",
        argfile: { path: "bazel-out/k8-fastbuild/bin/tsc.args", args: ["-p", "tsconfig.json"] },
        inputs: {
          "tsconfig.json": TSCONFIG,
          "src/a.ts": `export const x: number = ${i};\n`,
          "src/b.ts": 'import { x } from "./a.js";\nexport const y: number = x + 1;\n',
        },
        outputPaths: ["out/a.js"],
      }),
    check: (r, i) => (r.exitCode === 0 && r.outputFiles["out/a.js"] === `export const x = ${i};\n` ? undefined : `unexpected result ${JSON.stringify(r).slice(0, 300)}`),
  };
}

/** A profile as run: the emulated executor, plus env the actions carry (the daemon switch). */
type RowName = ProfileName | "buildbarn + daemon";
const ROWS: readonly RowName[] = [...PROFILES, "buildbarn + daemon"];
const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli.js");

interface ProfileStats {
  readonly profile: RowName;
  readonly times: number[];
  readonly workerStarts: number;
  readonly persistent: number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function measure(workload: Workload): Promise<ProfileStats[]> {
  const daemonParent = mkdtempSync("/tmp/wb-bench-daemon-");
  chmodSync(daemonParent, 0o700);
  const daemonDir = join(daemonParent, "d");
  const profileOf = (row: RowName): ProfileName => (row === "buildbarn + daemon" ? "buildbarn" : row);
  const executors = new Map<RowName, RemoteExecutor>(
    ROWS.map((r) => [r, createExecutor(profileOf(r), profileOf(r) === "buildbarn" ? { platformKeyExtractor: "static", defaultTimeoutMs: 300_000 } : { defaultTimeoutMs: 300_000 })]),
  );
  const stats = new Map<RowName, { times: number[]; workerStarts: number; persistent: number }>(ROWS.map((p) => [p, { times: [], workerStarts: 0, persistent: 0 }]));
  const actionFor = (row: RowName, i: number): RemoteAction => {
    const action = workload.action(profileOf(row), i);
    if (row !== "buildbarn + daemon") return action;
    return { ...action, env: { ...action.env, WORKER_BRIDGE_DAEMON: "require", WORKER_BRIDGE_DAEMON_DIR: daemonDir } };
  };
  try {
    // Round-robin: every profile sees the same machine load, action by action.
    for (let i = 0; i < workload.actions; i++) {
      for (const [profile, executor] of executors) {
        const start = performance.now();
        const result = await executor.execute(actionFor(profile, i));
        const elapsed = performance.now() - start;
        const problem = workload.check(result, i);
        if (problem !== undefined) throw new Error(`${profile}, action ${i}: ${problem}`);
        const s = stats.get(profile)!;
        s.times.push(elapsed);
        if (result.execution.path === "persistent") s.persistent++;
        if (result.execution.workerStarted === true) s.workerStarts++;
      }
    }
  } finally {
    await Promise.all([...executors.values()].map((e) => e.close()));
    killAllChildren();
    spawnSync(process.execPath, [CLI, "daemon", "stop", `--daemon-dir=${daemonDir}`], { stdio: "ignore" });
    rmSync(daemonParent, { recursive: true, force: true });
  }
  return ROWS.map((profile) => ({ profile, ...stats.get(profile)! }));
}

function report(workload: Workload, rows: ProfileStats[]): string {
  const plain = median(rows.find((r) => r.profile === "plain")!.times);
  const lines = [
    `### ${workload.name}, ${workload.actions} actions per profile`,
    "",
    "| profile | path | worker warm? | worker starts | first action ms | median ms | speed-up vs plain (one-shot) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    let path = r.persistent === r.times.length ? "persistent" : r.persistent === 0 ? "one-shot" : "mixed";
    let warm = path === "persistent" && r.workerStarts === 1 ? "yes" : "no";
    if (r.profile === "buildbarn + daemon") {
      // WORKER_BRIDGE_DAEMON=require: an action the daemon did not serve would have failed the run.
      path = "one-shot client → daemon";
      warm = "yes (daemon)";
    }
    const m = median(r.times);
    lines.push(`| ${r.profile} | ${path} | ${warm} | ${r.workerStarts} | ${r.times[0]!.toFixed(0)} | ${m.toFixed(1)} | ${(plain / m).toFixed(2)}x |`);
  }
  return lines.join("\n");
}

async function main(argv: readonly string[]): Promise<void> {
  const actions = Number(argv.find((a) => a.startsWith("--actions="))?.slice("--actions=".length) ?? "15");
  if (!Number.isInteger(actions) || actions < 3) throw new Error("--actions=N expects an integer >= 3");
  const workloads = [probeWorkload(actions)];
  if (argv.includes("--tsc")) workloads.push(tscWorkload(Math.max(3, Math.ceil(actions / 2))));
  const out: { workload: string; rows: { profile: string; medianMs: number; workerStarts: number; persistent: number }[] }[] = [];
  for (const w of workloads) {
    const rows = await measure(w);
    if (argv.includes("--json")) out.push({ workload: w.name, rows: rows.map((r) => ({ profile: r.profile, medianMs: median(r.times), workerStarts: r.workerStarts, persistent: r.persistent })) });
    else process.stdout.write(`${report(w, rows)}\n\n`);
  }
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`remote-profiles: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killAllChildren();
  process.exit(1);
});
