// TypeScript as an action input (issue 12): every build directory brings its own copy of the
// compiler at node_modules/typescript. Copies with the same content are one compiler: loaded once,
// sharing warm state across directories, each request still reading its own directory's lib files
// and answering exactly as a one-shot tsc of that copy. A copy with other content is another
// compiler. Checked through the tool's counters, never timing.
import { appendFileSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { loadStats } from "../../src/tools/tsc/resolve-typescript.js";
import { coldTsc, createTscState, job, TS_DIRS, warmTsc, writeTree } from "./harness.js";

const base = mkdtempSync(join(tmpdir(), "tsc-shared-compiler-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The bundled TypeScript hard-linked into `root`; `patch` copies typescript.js and appends to it. */
function placeTypeScript(root: string, patch?: string): string {
  const from = TS_DIRS["5.9"];
  const dir = join(root, "node_modules", "typescript");
  mkdirSync(join(dir, "lib"), { recursive: true });
  linkSync(join(from, "package.json"), join(dir, "package.json"));
  for (const name of readdirSync(join(from, "lib"))) {
    const file = join(from, "lib", name);
    if (!statSync(file).isFile()) continue;
    if (patch !== undefined && name === "typescript.js") {
      copyFileSync(file, join(dir, "lib", name));
      appendFileSync(join(dir, "lib", name), patch);
    } else linkSync(file, join(dir, "lib", name));
  }
  return dir;
}

/** A build directory: the project, with a global declaration clashing with lib.es5.d.ts so the diagnostics name a lib file. */
function buildDirectory(name: string, patch?: string): { root: string; ts: string } {
  const root = join(base, name, "exec");
  writeTree(root, {
    "tsconfig.json": JSON.stringify({
      compilerOptions: { target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, outDir: "out", rootDir: "src" },
      include: ["src"],
    }),
    "src/a.ts": "export const a = 1;\n",
    "src/b.ts": 'import { a } from "./a";\nexport const b: number = a + 1;\n',
    "src/global.ts": "declare class Array {}\n",
  });
  return { root, ts: placeTypeScript(root, patch) };
}

const P = ["-p", "tsconfig.json"];

test("build directories holding the same TypeScript share one loaded compiler and its warm state; other content is another compiler", async () => {
  const state = createTscState([]);
  const run = async (dir: { root: string; ts: string }) => {
    const warm = await warmTsc(state, { ...job(dir.root, P), verbosity: 1 }, ["out"]);
    const cold = coldTsc(TS_DIRS["5.9"], dir.root, P, ["out"], dir.ts);
    const notes = warm.output.split("\n").filter((l) => l.startsWith("worker-bridge: tsc: "));
    const output = warm.output
      .split("\n")
      .filter((l) => !l.startsWith("worker-bridge: tsc: "))
      .join("\n");
    expect(output).toBe(cold.output);
    expect(warm.exitCode).toBe(cold.exitCode);
    expect(Object.fromEntries(warm.files)).toEqual(Object.fromEntries(cold.files));
    return { notes: notes.join("\n"), output };
  };
  const loads = loadStats.loads;

  const first = await run(buildDirectory("1"));
  // The diagnostics name the copy's own lib file, relative to the build directory.
  expect(first.output).toMatch(/^node_modules\/typescript\/lib\/lib\.es5\.d\.ts\(\d+,\d+\): error TS2300/m);
  expect(first.notes).toContain("cold: first request for this target in this process");
  const afterFirst = loadStats.loads;
  expect(afterFirst - loads).toBe(1);

  // The previous build directory is gone, as an executor deletes it after the action.
  rmSync(join(base, "1"), { recursive: true });
  const warmBefore = state.stats.warm;
  const second = await run(buildDirectory("2"));
  expect(second.notes).toContain("warm: state of the same target in another directory");
  expect(state.stats.warm).toBe(warmBefore + 1);
  expect(loadStats.loads).toBe(afterFirst);
  expect(state.cache.size).toBe(1);

  // Another compiler (typescript.js differs by one comment): loaded apart, its own target.
  rmSync(join(base, "2"), { recursive: true });
  const other = await run(buildDirectory("3", "\n// a patched compiler\n"));
  expect(other.notes).toContain("cold: first request for this target in this process");
  expect(loadStats.loads).toBe(afterFirst + 1);
  expect(state.stats.warm).toBe(warmBefore + 1);
  expect(state.cache.size).toBe(2);
});
