// Issue 5 §8: after every step of a seeded random walk, the warm worker's outputs (bytes),
// diagnostics and exit code must equal a cold tsc run. Replay a failure with TSC_EQ_SEED=<seed>.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { FixtureProject, rng } from "./fixture-model.js";
import { coldTsc, createTscState, job, TS_DIRS, warmTsc } from "./harness.js";

/** A short window around the first differing character, so a failure stays readable. */
function firstDifference(warm: string, cold: string): string {
  let i = 0;
  while (i < warm.length && warm[i] === cold[i]) i++;
  const from = Math.max(0, i - 80);
  return `at offset ${i}\n  warm: …${warm.slice(from, i + 120)}\n  cold: …${cold.slice(from, i + 120)}`;
}

const STEPS = Number(process.env.TSC_EQ_STEPS ?? 200);
const SEED = process.env.TSC_EQ_SEED !== undefined ? Number(process.env.TSC_EQ_SEED) : Math.floor(Math.random() * 2 ** 31);
/** TypeScript 6.0 gets a shorter walk by default to keep CI within budget; the 5.9 walk is the full one. */
const STEPS_TS6 = Number(process.env.TSC_EQ_STEPS_TS6 ?? 60);
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

async function walk(version: keyof typeof TS_DIRS, steps: number, seed: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "tsc-equivalence-"));
  roots.push(root);
  console.log(`tsc equivalence (TypeScript ${version}): seed ${seed} (replay with TSC_EQ_SEED=${seed}), ${steps} steps, in ${root}`);
  const random = rng(seed);
  const project = new FixtureProject(root, random);
  // 5.9 is what the tool falls back to on its own; other versions are selected explicitly.
  const state = createTscState(version === "5.9" ? ["--verify-rate=0"] : ["--verify-rate=0", `--typescript=${TS_DIRS[version]}`]);
  const history: string[] = [];
  const extraArgs = [[], ["--removeComments"], ["--declaration", "false"]] as const;
  project.sync();
  let withInputs = true;
  let variant = 0;
  for (let step = 0; step <= steps; step++) {
    const what = step === 0 ? "initial build" : project.step();
    project.sync();
    // Now and then switch between Bazel-like requests (declared inputs with digests) and
    // Buck2-like ones (no inputs), and between command-line overrides: each is its own target.
    if (random() < 0.1) withInputs = !withInputs;
    if (random() < 0.1) variant = Math.floor(random() * extraArgs.length);
    const args = ["-p", "tsconfig.json", ...extraArgs[variant]!];
    history.push(`${step}: ${what} | ${withInputs ? "inputs" : "no inputs"} | ${args.join(" ")}`);
    const warm = await warmTsc(state, job(root, args, withInputs ? project.inputs() : []), ["out"]);
    const cold = coldTsc(TS_DIRS[version], root, args, ["out"]);
    const context = `TypeScript ${version}, seed ${seed}, step ${step}\n${history.slice(-8).join("\n")}`;
    expect(warm.output, context).toBe(cold.output);
    expect(warm.exitCode, context).toBe(cold.exitCode);
    expect([...warm.files.keys()].sort(), context).toEqual([...cold.files.keys()].sort());
    for (const [path, text] of cold.files) {
      const got = warm.files.get(path) ?? "";
      if (got !== text) expect.fail(`${context}\n${path} differs: ${firstDifference(got, text)}`);
    }
    // Let vitest's worker RPC breathe between synchronous compilations.
    await new Promise((r) => setImmediate(r));
  }
  console.log(
    `tsc equivalence: ${state.stats.requests} requests, ${state.stats.warm} reused a warm builder, ` +
      `largest heap ${Math.round(state.cache.maxHeapSeen / 2 ** 20)} MiB`,
  );
}

test(`TypeScript 5.9: warm tsc equals cold tsc over ${STEPS} random steps (seed ${SEED})`, () => walk("5.9", STEPS, SEED), 240_000);

test(`TypeScript 6.0: warm tsc equals cold tsc over ${STEPS_TS6} random steps (seed ${SEED})`, () => walk("6.0", STEPS_TS6, SEED), 240_000);
