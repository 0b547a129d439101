// The TypeScript 7 API back end (issue 13 item 2): the 7.1 nightly is kept warm in memory and, after
// an edit no other file can see, checks and emits only the changed file. Every answer must equal a
// cold tsgo of the same compiler. The random walk in equivalence.test.ts covers it too; this file
// drives the "only the changed files" path hard (body edits, errors inside bodies, syntax errors)
// and checks the capability test and the fallback.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import type { ToolInput } from "../../src/tool-api/define-tool.js";
import { loadCompilerApi } from "../../src/tools/tsc/native/api-client.js";
import { rng } from "./fixture-model.js";
import { coldTsgo, createTscState, job, runTsc, TS_DIRS, warmTsc, writeTree } from "./harness.js";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsc-api-"));
  roots.push(d);
  return d;
}

const TSCONFIG = JSON.stringify({
  compilerOptions: { module: "nodenext", target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, outDir: "out", rootDir: "." },
  include: ["src"],
});

function moduleText(name: string, dep: string | undefined, body: string): string {
  const imp = dep !== undefined ? `import { value as depValue, Thing as DepThing } from "./${dep}.js";\n` : `import type { Shape } from "./shape.js";\n`;
  // The first module uses a hand-written declaration file inside a body: editing that file must re-check it.
  const use = dep !== undefined ? "depValue + new DepThing().n" : "((s: Shape) => s.n)({ n: 1 })";
  return `${imp}export class Thing {\n  n = 1;\n}\nexport function compute(x: number): number {\n  let acc = ${use};\n${body}  return acc + x;\n}\nexport const value = compute(2);\nexport const name_${name} = "${name}";\n`;
}

const SHAPES = ["export interface Shape { readonly n: number }\n", "export interface Shape { readonly m: number }\n", "export interface Shape { readonly n: string }\n"];

function inputsOf(root: string, files: readonly string[]): ToolInput[] {
  return files.map((path) => ({ path, digest: createHash("sha256").update(readFileSync(join(root, path))).digest() }));
}

const BODIES = [
  "",
  "  acc += 1;\n",
  "  acc += 2; // a comment\n",
  '  const wrong: number = "not a number";\n  acc += wrong;\n', // a type error inside the body: no declaration changes
  "  acc += missingName;\n",
  "  acc += (1 +;\n", // a syntax error
  "  for (const k of [1, 2, 3]) acc += k;\n",
];

test("the 7.1 nightly has the emit API and 7.0 has none (feature test, not the version)", async () => {
  expect(typeof (await loadCompilerApi(TS_DIRS["7.1"]))).toBe("object");
  // 7.0 ships an API client, but one without programs that emit.
  expect(await loadCompilerApi(TS_DIRS["7"])).toMatch(/no compiler API|lacks|cannot/);
});

test("TypeScript 7.1 through its API: body edits, errors in bodies, syntax errors and declaration-file edits equal cold tsgo, checking only the changed file where nothing else can see the change", async () => {
  const seed = process.env.TSC_EQ_SEED !== undefined ? Number(process.env.TSC_EQ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const random = rng(seed);
  const base = tempDir();
  const names = ["a", "b", "c", "d", "e"];
  const files = ["tsconfig.json", "src/shape.d.ts", ...names.map((n) => `src/${n}.ts`)];
  const bodies = new Map(names.map((n) => [n, ""]));
  let shape = SHAPES[0]!;
  const write = (root: string): void =>
    writeTree(root, {
      "tsconfig.json": TSCONFIG,
      "src/shape.d.ts": shape,
      ...Object.fromEntries(names.map((n, i) => [`src/${n}.ts`, moduleText(n, i > 0 ? names[i - 1] : undefined, bodies.get(n)!)])),
    });
  const state = createTscState([`--typescript=${TS_DIRS["7.1"]}`, `--state-dir=${join(base, "state")}`, "--verify-rate=0"], () => {});
  try {
    const steps = 40;
    for (let step = 0; step < steps; step++) {
      // A new sandbox directory for every step, as Bazel gives each action.
      const root = join(base, "sandbox", String(step));
      if (step > 0 && random() < 0.2) shape = SHAPES[Math.floor(random() * SHAPES.length)]!;
      else if (step > 0) {
        const n = names[Math.floor(random() * names.length)]!;
        bodies.set(n, BODIES[Math.floor(random() * BODIES.length)]!);
      }
      write(root);
      const args = ["-p", "tsconfig.json"];
      const context = `seed ${seed} (TSC_EQ_SEED), step ${step}, shape ${JSON.stringify(shape)}, bodies ${JSON.stringify([...bodies])}`;
      if (step > 0 && random() < 0.15) {
        // Cancelled part-way (the back end polls the signal between compiler calls), then the real request.
        const controller = new AbortController();
        let reads = 0;
        const limit = 1 + Math.floor(random() * 4);
        const signal = new Proxy(controller.signal, {
          get(target, prop) {
            if (prop === "aborted") return ++reads >= limit;
            const v = Reflect.get(target, prop, target) as unknown;
            return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
        await runTsc(state, job(root, args, inputsOf(root, files)), signal);
      }
      const warm = await warmTsc(state, job(root, args, inputsOf(root, files)), ["out"]);
      const cold = coldTsgo(TS_DIRS["7.1"], root, args, ["out"]);
      expect(warm.output, context).toBe(cold.output);
      expect(warm.exitCode, context).toBe(cold.exitCode);
      expect([...warm.files.keys()].sort(), context).toEqual([...cold.files.keys()].sort());
      for (const [p, text] of cold.files) expect(warm.files.get(p), `${context}: ${p}`).toBe(text);
    }
    const s = state.apiSessions.stats;
    console.log(`tsc API back end: seed ${seed}: ${steps} steps, ${s.served} answered through the API, ${s.targeted} checking only the changed file`);
    expect(s.served).toBeGreaterThanOrEqual(steps);
    expect(s.targeted).toBeGreaterThan(steps / 4);
  } finally {
    state.apiSessions.closeAll();
  }
}, 300_000);

test("TypeScript 7.1: a declaration error (the emit skips one .d.ts, writes the rest, exits 1) and its fix equal cold tsgo, warm and in new directories", async () => {
  const base = tempDir();
  // TS4094 comes only from the declaration emit: a private member of an exported class expression.
  const texts = [
    "export const Made = class {\n  private secret = 1;\n};\nexport const n: number = 1;\n",
    "export const Made = class {\n  secret = 1;\n};\nexport const n: number = 1;\n",
    "export const Made = class {\n  private secret = 1;\n};\nexport const n: number = 2;\n",
  ];
  const files = ["tsconfig.json", "src/a.ts", "src/b.ts"];
  const state = createTscState([`--typescript=${TS_DIRS["7.1"]}`, `--state-dir=${join(base, "state")}`, "--verify-rate=0"], () => {});
  try {
    let declarationErrors = 0;
    for (const [step, text] of [...texts, texts[1]!, texts[0]!].entries()) {
      const root = join(base, "sandbox", String(step));
      writeTree(root, { "tsconfig.json": TSCONFIG, "src/a.ts": text, "src/b.ts": 'import { n } from "./a.js";\nexport const m = n + 1;\n' });
      const args = ["-p", "tsconfig.json"];
      const warm = await warmTsc(state, job(root, args, inputsOf(root, files)), ["out"]);
      const cold = coldTsgo(TS_DIRS["7.1"], root, args, ["out"]);
      if (cold.output.includes("TS4094")) declarationErrors++;
      expect(warm.output, `step ${step}`).toBe(cold.output);
      expect(warm.exitCode, `step ${step}`).toBe(cold.exitCode);
      expect(warm.files, `step ${step}`).toEqual(cold.files);
    }
    expect(declarationErrors).toBe(3);
  } finally {
    state.apiSessions.closeAll();
  }
}, 120_000);

test("--tsgo-api=off, or arguments beyond -p, leave the 7.1 nightly to the tsgo back end (same answer)", async () => {
  const root = tempDir();
  writeTree(root, { "tsconfig.json": TSCONFIG, "src/a.ts": moduleText("a", undefined, BODIES[3]!) });
  const files = ["tsconfig.json", "src/a.ts"];
  const cold = coldTsgo(TS_DIRS["7.1"], root, ["-p", "tsconfig.json"], ["out"]);
  for (const [startup, args] of [
    [["--tsgo-api=off"], ["-p", "tsconfig.json"]],
    [[], ["-p", "tsconfig.json", "--removeComments", "false"]],
  ] as const) {
    const state = createTscState([`--typescript=${TS_DIRS["7.1"]}`, `--state-dir=${join(root, ".state")}`, ...startup], () => {});
    try {
      const warm = await warmTsc(state, job(root, args, inputsOf(root, files)), ["out"]);
      expect(warm.output).toBe(cold.output);
      expect(warm.exitCode).toBe(cold.exitCode);
      expect(warm.files).toEqual(cold.files);
      expect(state.apiSessions.stats.served).toBe(0);
    } finally {
      state.apiSessions.closeAll();
    }
  }
}, 120_000);
