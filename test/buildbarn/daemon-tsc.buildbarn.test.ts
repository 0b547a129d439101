// Issue 12's tsc figure on a real Buildbarn worker (docs/daemon.md, "Measured"): bazel-demo's 22
// TypeScript libraries build remotely once plain one-shot and once through the warm daemon
// (WORKER_BRIDGE_DAEMON=on, a daemon directory under /tmp); then a one-file body edit of //ts:lib00
// is rebuilt in each mode, with the remote cache's answers refused so the action really runs. The
// body edit leaves lib00's declarations unchanged, so each timed build runs exactly that one action,
// in a new Buildbarn build directory. Asserted: outputs byte-identical to the plain remote build,
// one daemon served every action, no fallback. The ratio is printed, and asserted only loosely.
//
// Twice: with TypeScript as bazel-demo ships it, an action input (node_modules/typescript inside each
// build directory, at a new path every time), and with TypeScript named at one fixed path on the
// worker (`--typescript=`). Both must stay warm across build directories: the tsc tool knows a
// compiler by its content, not its directory (src/tools/tsc/compiler-identity.ts).
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BazelSession, describeExit, type BazelRun } from "../e2e/support/bazel-session.js";
import { REPO_ROOT } from "./cluster.js";
import { copyDemo, medianActionMs } from "./demo-workspace.js";
import { actionPathFlag, bazelBinary, daemonPidsServing, killDaemonsServing, readExecutionLog, runDaemonCommand, removeDir, skipReason, snapshotFiles, useCluster } from "./support.js";

const LIBRARIES = 22;
const EDITED = "//ts:lib00";
const EDITED_FILE = "ts/lib00/util.ts";
const ROUNDS = 3;

const cluster = useCluster({ platformKeyExtractor: "static" });
let base = "";
let daemonParent = "";
let daemonDir = "";
let session: BazelSession | undefined;

/** Pids of live daemons serving the test's directory. */
const daemonPids = (): number[] => daemonPidsServing(daemonDir);

function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const daemonCli = (...args: string[]): string => runDaemonCommand(daemonDir, ...args);

beforeAll(async () => {
  if (skipReason !== undefined) return;
  base = mkdtempSync(join(tmpdir(), "wb-bb-dtsc-"));
  // Short (a socket path has at most 107 bytes) and private; the worker runs as this user.
  daemonParent = mkdtempSync("/tmp/wb-bbt-");
  chmodSync(daemonParent, 0o700);
  session = await BazelSession.create({ bazel: bazelBinary, workspace: copyDemo(base), deadlineMs: 600_000 });
});

afterAll(async () => {
  for (const typescript of ["input", "fixed"]) {
    if (daemonParent === "") break;
    daemonDir = join(daemonParent, typescript);
    await killDaemonsServing(daemonDir);
    expect(daemonPids(), "daemons still alive").toEqual([]);
  }
  await session?.dispose();
  expect(session?.serverPid(), "Bazel server still running").toBeUndefined();
  removeDir(base);
  removeDir(daemonParent);
});

function context(run: BazelRun): string {
  return `${describeExit(run)}\n${run.stderr.slice(-6000)}\n${cluster.get().logs()}`;
}

const tsOutputs = async (s: BazelSession, lib = ""): Promise<Map<string, Buffer>> =>
  snapshotFiles(join(await s.info("bazel-bin"), "ts", lib), (rel) => rel.endsWith(".params"));

function expectSame(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [path, bytes] of expected) expect(actual.get(path)?.equals(bytes), path).toBe(true);
}

/**
 * The whole scenario in one daemon directory. `typescript`: "input" as bazel-demo ships it (the
 * package is an action input, so at a new path in every build directory), or "fixed": every
 * request also names this checkout's TypeScript by absolute path (`--typescript=`), which the
 * worker on this machine sees at the same path for every action.
 */
async function scenario(typescript: "input" | "fixed"): Promise<void> {
  const s = session!;
  daemonDir = join(daemonParent, typescript);
  let n = 0;
  const remote = async (name: string, targets: string[], extra: string[]): Promise<{ run: BazelRun; ms: number; spawns: number }> => {
    name = `${typescript}-${name}`;
    const profile = join(s.root, `${name}.profile.json`);
    const log = join(s.root, `${name}.exec.json`);
    const run = await s.build(targets, [...cluster.get().bazelFlags(), actionPathFlag(), "--remote_timeout=120", `--profile=${profile}`, `--execution_log_json_file=${log}`, ...extra]);
    expect(run.exitCode, context(run)).toBe(0);
    const spawns = readExecutionLog(log).filter((e) => e.mnemonic === "TsCompile");
    for (const e of spawns) expect(e.runner, `${name}: ${e.progressMessage ?? ""}`).toBe("remote");
    const edited = medianActionMs(profile, `Compiling TypeScript ${EDITED}`);
    n++;
    console.log(`buildbarn daemon tsc: ${name}: ${spawns.length} TsCompile action(s), ${EDITED} ${edited.median.toFixed(0)} ms, build wall ${(run.wallMs / 1000).toFixed(1)} s, load ${loadavg()[0]!.toFixed(2)}`);
    return { run, ms: edited.median, spawns: spawns.length };
  };
  const daemonFlags = ["--action_env=WORKER_BRIDGE_DAEMON=on", `--action_env=WORKER_BRIDGE_DAEMON_DIR=${daemonDir}`];
  // Refuse the remote cache's answers, so the timed actions really execute on the worker.
  const timed = ["--noremote_accept_cached", "--jobs=1"];

  const plain = await remote("plain-full", ["//ts/..."], []);
  expect(plain.spawns).toBe(LIBRARIES);
  const expected = await tsOutputs(s);
  expect(expected.size).toBe(LIBRARIES * 7);

  // Every library once through the daemon: its tsc tool process now holds all 22 targets warm.
  const warm = await remote("daemon-full", ["//ts/..."], [...daemonFlags, "--noremote_accept_cached"]);
  expect(warm.spawns).toBe(LIBRARIES);
  expectSame(await tsOutputs(s), expected);
  const pids = daemonPids();
  expect(pids).toHaveLength(1);

  const file = join(s.workspace, EDITED_FILE);
  const original = readFileSync(file, "utf8");
  expect(original).toContain("return `lib00#${n}`;");
  const ratios: string[] = [];
  const edits: { daemonMs: number; plainMs: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // A body edit: lib00's declarations stay the same, so nothing that depends on it reruns.
    writeFileSync(file, original.replace("return `lib00#${n}`;", `return \`lib00#\${n}/edit${round}\`;`));
    const d = await remote(`daemon-edit${round}`, ["//ts/..."], [...daemonFlags, ...timed]);
    expect(d.spawns).toBe(1);
    const daemonLib = await tsOutputs(s, "lib00");
    expect(daemonLib.get("util.js")?.toString()).toContain(`/edit${round}`);
    const p = await remote(`plain-edit${round}`, [EDITED], timed);
    expect(p.spawns).toBe(1);
    expectSame(await tsOutputs(s, "lib00"), daemonLib);
    edits.push({ daemonMs: d.ms, plainMs: p.ms });
    ratios.push((p.ms / d.ms).toFixed(1));
  }
  edits.sort((a, b) => a.plainMs / a.daemonMs - b.plainMs / b.daemonMs);
  const mid = edits[Math.floor(edits.length / 2)]!;
  console.log(
    `buildbarn daemon tsc: one-file edit of ${EDITED}, plain one-shot / daemon per action: ${ratios.join("x, ")}x over ${ROUNDS} rounds; ` +
      `median ${(mid.plainMs / mid.daemonMs).toFixed(1)}x (${mid.plainMs.toFixed(0)} ms / ${mid.daemonMs.toFixed(0)} ms), load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );

  // Warm across build directories: far below a cold compile even on a loaded machine (the figure
  // itself is the printed one; 5x is issue 12's target, not something a shared machine guarantees).
  expect(mid.plainMs / mid.daemonMs, "the daemon's tsc did not stay warm").toBeGreaterThanOrEqual(2);

  // One daemon served every daemon-mode action, none ran in-process.
  expect(daemonPids()).toEqual(pids);
  const requests = LIBRARIES + ROUNDS;
  const status = daemonCli("status");
  console.log(`buildbarn daemon tsc: ${status.trim().split("\n").join(" | ")}`);
  expect(status, status).toContain("1 daemon(s), 0 in-process fallback(s) logged");
  expect(status, status).toMatch(new RegExp(`pid ${pids[0]} serving tool tsc .*: ${requests} request\\(s\\), 0 in flight`));
  expect(existsSync(join(daemonDir, "fallbacks.log"))).toBe(false);

  // Its tool process(es): one TypeScript loaded, whichever build directories brought a copy.
  for (const child of childPids(pids[0]!)) {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child}/status`, "utf8"))?.[1];
    console.log(`buildbarn daemon tsc: tool process ${child}: RSS ${Math.round(Number(rss) / 1024)} MB after ${requests} requests`);
  }

  const stopped = daemonCli("stop");
  expect(stopped).toBe(`pid ${pids[0]}: stopped\n`);
  expect(daemonPids()).toEqual([]);
  const logs = readdirSync(daemonDir).filter((f) => f.endsWith(".log"));
  for (const f of logs) console.log(`buildbarn daemon tsc: ${f}:\n${readFileSync(join(daemonDir, f), "utf8").slice(-3000)}`);
  expect(n).toBe(2 + 2 * ROUNDS);
  writeFileSync(file, original);
}

describe.skipIf(skipReason !== undefined)("Buildbarn: tsc one-file edits through the warm daemon on the worker", () => {
  test("TypeScript as an action input: edits rebuilt plain one-shot and through the daemon, same bytes, one daemon, no fallback, and the daemon's tsc stays warm across build directories; ratio printed", async () => {
    await scenario("input");
  });

  test("TypeScript at a fixed path on the worker: the same, and the daemon's tsc stays warm across build directories; ratio printed", async () => {
    const defs = join(session!.workspace, "ts/defs.bzl");
    const text = readFileSync(defs, "utf8");
    const anchor = '    request.add("-p", tsconfig.path)\n';
    expect(text).toContain(anchor);
    writeFileSync(defs, text.replace(anchor, `    request.add("--typescript=${join(REPO_ROOT, "node_modules/typescript")}")\n${anchor}`));
    await scenario("fixed");
  });
});
