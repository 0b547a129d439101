// Issue 13 item 4 (and issue 12 item 5): after every step of a seeded random walk, each back end's
// outputs (bytes), diagnostics and exit code must equal a cold one-shot run of the same compiler
// in the same directory. Every step may run in a new directory (a new sandbox or action
// directory), and some steps first send a request that is cancelled mid-compile. For the
// in-process back ends the TypeScript package is itself in the step's directory
// (node_modules/typescript, hard-linked or copied there), as when it is an action input: the tool
// must still answer exactly as that copy would, and share one loaded compiler between the copies.
//
// `npm test` runs a short walk per back end; TSC_EQ_FULL=1 runs 200 steps each. Replay a failure
// with TSC_EQ_SEED=<seed> (and TSC_EQ_STEPS=<n> to stop early).
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FixtureProject, rng } from "./fixture-model.js";
import { loadStats } from "../../src/tools/tsc/resolve-typescript.js";
import { coldTsc, coldTsgo, createTscState, job, TS_DIRS, warmTsc, runTsc } from "./harness.js";

/** A short window around the first differing character, so a failure stays readable. */
function firstDifference(warm: string, cold: string): string {
  let i = 0;
  while (i < warm.length && warm[i] === cold[i]) i++;
  const from = Math.max(0, i - 80);
  return `at offset ${i}\n  warm: …${warm.slice(from, i + 120)}\n  cold: …${cold.slice(from, i + 120)}`;
}

const FULL = process.env.TSC_EQ_FULL === "1";
const SEED = process.env.TSC_EQ_SEED !== undefined ? Number(process.env.TSC_EQ_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Short walks in `npm test` keep a 2-core CI run reasonable; the full walk is 200 steps per back end. */
const STEPS: Record<Version, number> = {
  "5.9": Number(process.env.TSC_EQ_STEPS ?? (FULL ? 200 : 40)),
  "6.0": Number(process.env.TSC_EQ_STEPS ?? (FULL ? 200 : 25)),
  "7": Number(process.env.TSC_EQ_STEPS ?? (FULL ? 200 : 25)),
  "7.1": Number(process.env.TSC_EQ_STEPS ?? (FULL ? 200 : 25)),
};
const TIMEOUT_MS = FULL ? 3_600_000 : 600_000;

type Version = keyof typeof TS_DIRS;
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/**
 * An AbortSignal that reports "aborted" from its n-th read on: the warm compiler polls it through
 * TypeScript's cancellation token, so this cancels a synchronous compilation part-way through.
 * The TypeScript 7 back end waits on the signal's event instead, so it is also aborted for real.
 */
function cancelAfterReads(n: number): AbortSignal {
  const controller = new AbortController();
  let reads = 0;
  setImmediate(() => controller.abort());
  return new Proxy(controller.signal, {
    get(target, prop) {
      if (prop === "aborted") {
        if (++reads >= n && !target.aborted) controller.abort();
        return target.aborted;
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Files of a TypeScript copy that are copied (not hard-linked) in copy mode: what its identity covers. */
const IDENTITY_FILE = /^(package\.json|lib\/typescript\.js|lib\/lib\..*\.d\.ts)$/;

/**
 * Puts the TypeScript package of `from` at `root`/node_modules/typescript: hard links (as a build
 * directory of hard links has it), or with the files its identity covers copied (new inodes).
 */
function placeTypeScript(from: string, root: string, copy: boolean): string {
  const dir = join(root, "node_modules", "typescript");
  rmSync(dir, { recursive: true, force: true });
  for (const rel of ["package.json", ...readdirSync(join(from, "lib")).map((n) => `lib/${n}`)]) {
    if (!statSync(join(from, rel)).isFile()) continue;
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    if (copy && IDENTITY_FILE.test(rel)) copyFileSync(join(from, rel), join(dir, rel));
    else linkSync(join(from, rel), join(dir, rel));
  }
  return dir;
}

async function walk(version: Version, steps: number, seed: number): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), "tsc-equivalence-"));
  roots.push(base);
  console.log(`tsc equivalence (TypeScript ${version}): seed ${seed} (replay with TSC_EQ_SEED=${seed}), ${steps} steps, in ${base}`);
  const random = rng(seed);
  const project = new FixtureProject(join(base, "sandbox", "0", "_main"), random, join(base, "external"));
  const startup = ["--verify-rate=0"];
  const native = version === "7" || version === "7.1";
  // TypeScript 7 runs its native binary from its one install; the others from the step's directory.
  const inDirectory = !native;
  if (!inDirectory) startup.push(`--typescript=${TS_DIRS[version]}`);
  if (native) startup.push(`--state-dir=${join(base, "state")}`);
  const logs: string[] = [];
  const state = createTscState(startup, (line) => logs.push(line));
  let tsCopy: string | undefined;
  const cold = (cwd: string, args: readonly string[]) =>
    native ? coldTsgo(TS_DIRS[version], cwd, args, ["out"]) : coldTsc(TS_DIRS[version], cwd, args, ["out"], tsCopy);
  const loadsBefore = loadStats.loads;
  let copies = 0;
  const history: string[] = [];
  const extraArgs = [[], ["--removeComments"], ["--declaration", "false"]] as const;
  project.sync();
  let withInputs = true;
  let variant = 0;
  let cancelled = 0;
  let cancelledMidway = 0;
  let moved = 0;
  for (let step = 0; step <= steps; step++) {
    const what = step === 0 ? "initial build" : project.step();
    // A new directory for most steps, as every Bazel sandbox and remote action gets one; mostly at
    // the same depth (the same virtual root), sometimes at another.
    let where = "";
    if (step > 0 && random() < 0.7) {
      const shape = random();
      const dir =
        shape < 0.8
          ? join(base, "sandbox", String(step), "_main")
          : shape < 0.9
            ? join(base, `action-${step}`)
            : join(base, "deep", "er", String(step), "_main");
      project.moveTo(dir);
      moved++;
      where = ` | moved to ${dir.slice(base.length + 1)}`;
    }
    project.sync();
    if (inDirectory && (step === 0 || where !== "")) {
      const copy = random() < 0.25;
      tsCopy = placeTypeScript(TS_DIRS[version], project.root, copy);
      if (copy) copies++;
      where += copy ? " (TypeScript copied)" : "";
    }
    // Now and then switch between Bazel-like requests (declared inputs with digests) and
    // Buck2-like ones (no inputs), and between command-line overrides: each is its own target.
    if (random() < 0.1) withInputs = !withInputs;
    if (random() < 0.1) variant = Math.floor(random() * extraArgs.length);
    // The API back end (7.1) serves `-p` requests with declared inputs; most of its steps are such.
    if (version === "7.1" && random() < 0.75) [withInputs, variant] = [true, 0];
    const args = ["-p", "tsconfig.json", ...extraArgs[variant]!];
    const inputs = withInputs ? project.inputs() : [];
    let cancel = "";
    if (step > 0 && random() < 0.08) {
      // A request cancelled mid-compile, then the real one: nothing half-done may leak into it.
      const reads = 1 + Math.floor(random() * 40);
      const r = await runTsc(state, job(project.root, args, inputs), cancelAfterReads(reads));
      cancelled++;
      if (/cancelled/.test(r.output ?? "")) cancelledMidway++;
      cancel = ` | cancelled request first (after ${reads} polls: exit ${r.exitCode})`;
    }
    history.push(`${step}: ${what}${where}${cancel} | ${withInputs ? "inputs" : "no inputs"} | ${args.join(" ")}`);
    const warm = await warmTsc(state, job(project.root, args, inputs), ["out"]);
    const reference = cold(project.root, args);
    const context = `TypeScript ${version}, seed ${seed}, step ${step}\n${history.slice(-8).join("\n")}`;
    expect(warm.output, context).toBe(reference.output);
    expect(warm.exitCode, context).toBe(reference.exitCode);
    expect([...warm.files.keys()].sort(), context).toEqual([...reference.files.keys()].sort());
    for (const [path, text] of reference.files) {
      const got = warm.files.get(path) ?? "";
      if (got !== text) expect.fail(`${context}\n${path} differs: ${firstDifference(got, text)}`);
    }
    // Let vitest's worker RPC breathe between synchronous compilations.
    await new Promise((r) => setImmediate(r));
  }
  const s = state.stats;
  // Every copy is the same compiler: loaded once, and warm state followed the moves.
  if (inDirectory) {
    expect(loadStats.loads - loadsBefore, "TypeScript loads for byte-identical copies").toBe(1);
    if (moved > 0) expect(s.warm, "requests that reused warm state").toBeGreaterThan(0);
  }
  console.log(
    `tsc equivalence (TypeScript ${version}): seed ${seed}: ${steps} steps passed; ${moved} in a new directory, ${cancelled} after a cancelled request (${cancelledMidway} answered "cancelled"); ` +
      (native
        ? `${logs.length} state-discard log line(s)` + (version === "7.1" ? `; ${state.apiSessions.stats.served} answered through the compiler API (${state.apiSessions.stats.warm} warm, ${state.apiSessions.stats.targeted} checking only the changed files); left to the tsgo back end: ${JSON.stringify(state.apiSessions.stats.fallbacks)}` : "")
        : `TypeScript in the step's directory (${copies} time(s) copied, otherwise hard-linked), loaded ${loadStats.loads - loadsBefore} time(s); ${s.requests} warm-path requests, ${s.warm} reused warm state (${s.unchanged ?? 0} with nothing changed), largest heap ${Math.round(state.cache.maxHeapSeen / 2 ** 20)} MiB`),
  );
  // The 7.1 nightly must actually be served by the API back end, not only by its fallback (its
  // changed-files-only path is driven hard by api-backend.test.ts; a short walk may not reach it).
  if (version === "7.1") expect(state.apiSessions.stats.served).toBeGreaterThan(0);
}

for (const version of ["5.9", "6.0", "7", "7.1"] as const) {
  test(
    `TypeScript ${version}: the tsc tool equals a cold one-shot over ${STEPS[version]} random steps in random directories (seed ${SEED})`,
    () => walk(version, STEPS[version], SEED),
    TIMEOUT_MS,
  );
}
