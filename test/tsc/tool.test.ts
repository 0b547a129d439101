// Behaviour of `--tool tsc` beyond the random walk: compiler versions (5.9, 6.0 in-process; 7
// native), declared-input enforcement, complete outputs, verify mode, LRU eviction, tsc CLI edge
// cases. Every expectation is a real cold tsc run, never a hard-coded transcript.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { coldTsc, createTscState, job, listFiles, runTsc, TS_DIRS, warmTsc, writeTree } from "./harness.js";
import type { RunResult } from "./harness.js";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function project(extraOptions: Record<string, unknown> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "tsc-tool-"));
  roots.push(root);
  writeTree(root, {
    "tsconfig.json": JSON.stringify({
      compilerOptions: { module: "nodenext", target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, outDir: "out", rootDir: "src", ...extraOptions },
      include: ["src"],
    }),
    "src/a.ts": "export const a = 1;\nexport function twice(x: number): number {\n  return x * 2;\n}\n",
    "src/b.ts": 'import { a, twice } from "./a.js";\nexport const b: number = twice(a);\n',
    "src/c.ts": 'import { b } from "./b.js";\nexport const c = `${b}`;\n',
  });
  return root;
}

function expectSame(warm: RunResult, cold: RunResult): void {
  expect(warm.output).toBe(cold.output);
  expect(warm.exitCode).toBe(cold.exitCode);
  expect(Object.fromEntries(warm.files)).toEqual(Object.fromEntries(cold.files));
}

const P = ["-p", "tsconfig.json"];
const signal = () => new AbortController().signal;

describe.each([
  ["5.9", TS_DIRS["5.9"]],
  ["6.0", TS_DIRS["6.0"]],
] as const)("TypeScript %s in-process", (_label, tsDir) => {
  test("resolved from the project's node_modules; warm equals cold for no change, an edit, a type error and its fix", async () => {
    const root = project();
    mkdirSync(join(root, "node_modules"));
    symlinkSync(tsDir, join(root, "node_modules", "typescript"));
    const state = createTscState([]);
    const steps: [string, () => void][] = [
      ["initial", () => undefined],
      ["no change", () => undefined],
      ["edit", () => writeFileSync(join(root, "src/a.ts"), "export const a = 2;\nexport function twice(x: number): number {\n  return x + x;\n}\n")],
      ["type error", () => writeFileSync(join(root, "src/b.ts"), 'import { a, twice } from "./a.js";\nexport const b: string = twice(a);\n')],
      ["fix", () => writeFileSync(join(root, "src/b.ts"), 'import { a, twice } from "./a.js";\nexport const b: number = twice(a) + 1;\n')],
    ];
    for (const [, change] of steps) {
      change();
      const warm = await warmTsc(state, { ...job(root, P), verbosity: 1 }, ["out"]);
      const cold = coldTsc(tsDir, root, P, ["out"]);
      const note = warm.output.match(/TypeScript (\S+) \(project:/);
      expect(note?.[1], warm.output).toBe(require_version(tsDir));
      expectSame({ ...warm, output: stripNotes(warm.output) }, cold);
    }
    expect(state.stats.warm).toBeGreaterThanOrEqual(3);
  });
});

function require_version(dir: string): string {
  return (JSON.parse(execFileSync(process.execPath, ["-p", `JSON.stringify(require(${JSON.stringify(join(dir, "package.json"))}).version)`]).toString()) as string);
}

function stripNotes(output: string): string {
  return output.split("\n").filter((l) => !l.startsWith("worker-bridge: tsc: ")).join("\n");
}

test("TypeScript 7 runs its native binary per request, matches it exactly and says it is not kept warm", async () => {
  const root = project();
  writeFileSync(join(root, "src/b.ts"), 'import { a, twice } from "./a.js";\nexport const b: string = twice(a);\n');
  const state = createTscState([`--typescript=${TS_DIRS["7"]}`]);
  const warm = await warmTsc(state, job(root, P), ["out"]);
  rmSync(join(root, "out"), { recursive: true, force: true });
  const native = spawnSync(process.execPath, [join(TS_DIRS["7"], "bin", "tsc"), ...P], { cwd: root, encoding: "utf8" });
  const nativeFiles = new Map([...listFiles(join(root, "out"))].map(([p, t]) => [p.slice(root.length + 1), t]));
  expect(warm.output).toMatch(/^worker-bridge: tsc: TypeScript 7\.\S+ is the native compiler; it runs cold for every request and is not kept warm\.\n/);
  expect(stripNotes(warm.output)).toBe(native.stdout);
  expect(native.stdout).toContain("TS2322");
  expect(warm.exitCode).toBe(native.status);
  expect(Object.fromEntries(warm.files)).toEqual(Object.fromEntries(nativeFiles));
  expect(warm.files.size).toBeGreaterThan(0);
});

test("the in-process cold reference agrees with the real tsc binary", () => {
  const root = project();
  writeFileSync(join(root, "src/c.ts"), 'import { b } from "./b.js";\nexport const c: boolean = b;\n');
  const cold = coldTsc(TS_DIRS["5.9"], root, P, ["out"]);
  rmSync(join(root, "out"), { recursive: true, force: true });
  const real = spawnSync(process.execPath, [join(TS_DIRS["5.9"], "bin", "tsc"), ...P], { cwd: root, encoding: "utf8" });
  expect(cold.output).toBe(real.stdout);
  expect(cold.exitCode).toBe(real.status);
  const realFiles = new Map([...listFiles(join(root, "out"))].map(([p, t]) => [p.slice(root.length + 1), t]));
  expect(Object.fromEntries(cold.files)).toEqual(Object.fromEntries(realFiles));
});

describe("declared inputs", () => {
  const inputsOf = (root: string, paths: string[]) => paths.map((p) => ({ path: p, digest: Buffer.from(`${p}-v1`) }));

  test("an import of an undeclared file is unresolvable, exactly as in a sandbox without it", async () => {
    const root = project();
    const state = createTscState([]);
    const warm = await warmTsc(state, job(root, P, inputsOf(root, ["tsconfig.json", "src/a.ts", "src/c.ts"])), ["out"]);
    // The cold reference: a copy of the project that only contains the declared files.
    const sandbox = project();
    rmSync(join(sandbox, "src/b.ts"));
    const cold = coldTsc(TS_DIRS["5.9"], sandbox, P, ["out"]);
    expect(warm.output).toBe(cold.output);
    expect(warm.output).toContain("TS2307");
    expect(warm.exitCode).toBe(cold.exitCode);
  });

  test("reading an undeclared file fails the request with an error naming it", async () => {
    const root = project();
    const state = createTscState([]);
    const noConfig = await runTsc(state, job(root, P, inputsOf(root, ["src/a.ts"])), signal());
    // tsconfig.json is not declared: tsc cannot see it at all.
    expect(noConfig.exitCode).toBe(1);
    expect(noConfig.output).toContain("tsconfig.json");
    const explicit = await runTsc(state, job(root, ["--outDir", "out", "src/a.ts", "src/b.ts"], inputsOf(root, ["src/a.ts"])), signal());
    expect(explicit.exitCode).toBe(1);
    expect(explicit.output).toContain(`tsc tried to read ${join(root, "src/b.ts")}, which is not a declared input`);
  });

  test("a stale digest is trusted warm, and --verify-rate=1 catches it loudly with a diff", async () => {
    const root = project();
    const state = createTscState(["--verify-rate=1"]);
    const inputs = inputsOf(root, ["tsconfig.json", "src/a.ts", "src/b.ts", "src/c.ts"]);
    const first = await runTsc(state, job(root, P, inputs), signal());
    expect(first.exitCode).toBe(0);
    // The file changes but the build system claims the same digest: only the verifier can tell.
    writeFileSync(join(root, "src/a.ts"), "export const a = 5;\nexport function twice(x: number): number {\n  return x * 2;\n}\n");
    const second = await runTsc(state, job(root, P, inputs), signal());
    expect(second.exitCode).toBe(1);
    expect(second.output).toContain("STALE WARM STATE");
    expect(second.output).toMatch(/output .*out\/a\.js differs at line \d+/);
    expect(state.stats.verifyFailures).toBe(1);
    // The bad state was dropped: the next request is cold and correct again.
    const third = await runTsc(state, job(root, P, inputs), signal());
    expect(third.exitCode).toBe(0);
  });
});

test("every output is rewritten on every request even when nothing changed", async () => {
  const root = project();
  const state = createTscState([]);
  const first = await warmTsc(state, job(root, P), ["out"]);
  const second = await warmTsc(state, job(root, P), ["out"]); // warmTsc deletes out/ first, as Bazel does
  expect(state.stats.warm).toBe(1);
  expect([...second.files.keys()].sort()).toEqual([...first.files.keys()].sort());
  expect(second.files.size).toBe(9);
});

test("option changes on the command line or in tsconfig.json start a fresh builder", async () => {
  const root = project();
  const state = createTscState([]);
  const run = async (args: string[]) => {
    const warm = await warmTsc(state, { ...job(root, args), verbosity: 1 }, ["out"]);
    const cold = coldTsc(TS_DIRS["5.9"], root, args, ["out"]);
    expectSame({ ...warm, output: stripNotes(warm.output) }, cold);
    return warm.output;
  };
  await run(P);
  expect(await run([...P, "--removeComments"])).toContain("first request for this target");
  writeFileSync(join(root, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", lib: ["es2022"], types: [], strict: false, outDir: "out", rootDir: "src" }, include: ["src"] }));
  expect(await run(P)).toContain("compiler options or root files changed");
  expect(await run(P)).toContain("warm: reusing");
});

test("a heap budget evicts the least recently used target", async () => {
  const a = project();
  const b = project();
  const state = createTscState(["--max-heap-mb=1"]);
  await runTsc(state, job(a, P), signal());
  const second = await runTsc(state, { ...job(b, P), verbosity: 1 }, signal());
  expect(second.output).toMatch(/evicted 1 least recently used target/);
  const again = await runTsc(state, { ...job(a, P), verbosity: 1 }, signal());
  expect(again.output).toContain("first request for this target");
  expect(state.cache.size).toBe(1);
  expect(state.cache.maxHeapSeen).toBeGreaterThan(0);
});

test("tsc CLI edge cases answer like tsc", async () => {
  const root = project();
  const state = createTscState([]);
  for (const args of [["-p", "missing"], ["-p", "nope/tsconfig.json"], ["--version"], ["--outDir", "out", "--strict", "src/a.ts", "src/c.ts"], ["--badFlag"], ["-p", "tsconfig.json", "src/a.ts"]]) {
    const warm = await warmTsc(state, job(root, args), ["out"]);
    const cold = coldTsc(TS_DIRS["5.9"], root, args, ["out"]);
    expect(warm.output, args.join(" ")).toBe(cold.output);
    expect(warm.exitCode, args.join(" ")).toBe(cold.exitCode);
  }
  expect(existsSync(join(root, "out"))).toBe(false);
});

test("a cancelled request fails and leaves no half-updated builder", async () => {
  const root = project();
  const state = createTscState([]);
  const controller = new AbortController();
  controller.abort();
  const result = await runTsc(state, job(root, P), controller.signal);
  expect(result.exitCode).toBe(1);
  expect(result.output).toContain("cancelled");
  expect(state.cache.size).toBe(0);
});
