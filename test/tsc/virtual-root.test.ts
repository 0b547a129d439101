// Warm state independent of the directory (issue 12 item 5): the virtual root's path mapping, when
// a target's state moves to a new directory and when it must not, and requests naming absolute
// paths, each compared with a cold tsc in the real directory.
import { cpSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { directoryMap } from "../../src/tools/tsc/virtual-root.js";
import { coldTsc, createTscState, job, runTsc, TS_DIRS, warmTsc, writeTree } from "./harness.js";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe("directoryMap", () => {
  test("renames the directories on the way to cwd and keeps every relative path", () => {
    const map = directoryMap("/tmp/exec/sandbox/7/_main");
    expect(map.virtual).toBe(true);
    const files = ["/tmp/exec/sandbox/7/_main/src/a.ts", "/tmp/exec/node_modules/x/index.d.ts", "/usr/lib/y.d.ts", "/tmp/other/z.ts"];
    for (const real of files) {
      const virtual = map.toVirtual(real);
      expect(map.toReal(virtual)).toBe(real);
      expect(posix.relative(map.cwd, virtual)).toBe(posix.relative("/tmp/exec/sandbox/7/_main", real));
    }
    expect(map.toVirtual("/usr/lib/y.d.ts")).toBe("/usr/lib/y.d.ts");
    expect(map.toReal("src/a.ts")).toBe("/tmp/exec/sandbox/7/_main/src/a.ts");
    // The same target in another sandbox at the same depth sees the same paths.
    expect(directoryMap("/tmp/exec/sandbox/8/_main").toVirtual("/tmp/exec/sandbox/8/_main/src/a.ts")).toBe(map.toVirtual(files[0]!));
    expect(map.realText(`File '${map.toVirtual(files[0]!)}' is not under '${map.cwd}/src'.`)).toBe(
      "File '/tmp/exec/sandbox/7/_main/src/a.ts' is not under '/tmp/exec/sandbox/7/_main/src'.",
    );
    expect(map.namesRealPath('{ "extends": "/tmp/exec/base.json" }')).toBe(true);
    expect(map.namesRealPath('{ "outDir": "out/tmp" }')).toBe(false);
  });

  test("keeps real paths below a node_modules directory", () => {
    expect(directoryMap("/repo/node_modules/pkg").virtual).toBe(false);
  });
});

function project(base: string, name: string): string {
  const root = join(base, name, "_main");
  writeTree(root, {
    "tsconfig.json": JSON.stringify({
      compilerOptions: { module: "nodenext", target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, declarationMap: true, outDir: "out", rootDir: "src" },
      include: ["src"],
    }),
    "src/a.ts": "export const a = 1;\n",
    "src/b.ts": 'import { a } from "./a.js";\nexport const b: string = a;\n',
  });
  return root;
}

const notesOf = (output: string | undefined) => (output ?? "").split("\n").filter((l) => /warm:|cold:/.test(l)).join(" | ");
const P = ["-p", "tsconfig.json"];

describe("the tsc tool in changing directories", () => {
  test("a target moved to a new directory keeps its warm state; outputs and diagnostics are the real directory's", async () => {
    const base = mkdtempSync(join(tmpdir(), "tsc-vroot-"));
    roots.push(base);
    const state = createTscState([]);
    let dir = project(base, "s1");
    await runTsc(state, { ...job(dir, P), verbosity: 1 }, new AbortController().signal);
    for (const next of ["s2", "s3"]) {
      const to = join(base, next, "_main");
      cpSync(dir, to, { recursive: true });
      rmSync(join(base, dir.split("/").at(-2)!), { recursive: true, force: true });
      dir = to;
      const verbose = await runTsc(state, { ...job(dir, P), verbosity: 1 }, new AbortController().signal);
      expect(notesOf(verbose.output)).toContain("state of the same target in another directory");
      const warm = await warmTsc(state, job(dir, P), ["out"]);
      const cold = coldTsc(TS_DIRS["5.9"], dir, P, ["out"]);
      expect(warm.output).toBe(cold.output);
      expect(warm.exitCode).toBe(cold.exitCode);
      expect(Object.fromEntries(warm.files)).toEqual(Object.fromEntries(cold.files));
      for (const text of warm.files.values()) expect(text).not.toContain("__worker_bridge_root");
    }
  });

  test("two live directories with the same arguments keep their own state", async () => {
    const base = mkdtempSync(join(tmpdir(), "tsc-vroot-"));
    roots.push(base);
    const state = createTscState([]);
    const a = project(base, "pkg-a");
    const b = project(base, "pkg-b");
    const run = async (cwd: string) => notesOf((await runTsc(state, { ...job(cwd, P), verbosity: 1 }, new AbortController().signal)).output);
    expect(await run(a)).toContain("first request");
    expect(await run(b)).toContain("first request");
    expect(await run(a)).toContain("nothing changed");
    expect(await run(b)).toContain("nothing changed");
    // Once a directory is gone, its state may serve the same target elsewhere.
    renameSync(a, join(base, "pkg-b", "moved"));
    rmSync(join(base, "pkg-a"), { recursive: true, force: true });
    expect(await run(join(base, "pkg-b", "moved"))).toMatch(/first request|another directory/);
  });

  test("absolute paths in the arguments and in tsconfig.json compile like tsc", async () => {
    const base = mkdtempSync(join(tmpdir(), "tsc-vroot-"));
    roots.push(base);
    const state = createTscState([]);
    const a = project(base, "abs");
    const other = project(base, "other");
    for (const args of [["-p", join(a, "tsconfig.json")], ["-p", join(other, "tsconfig.json")], ["-p", "tsconfig.json", "--outDir", join(a, "out")]]) {
      const warm = await warmTsc(state, job(a, args), ["out", join(other, "out")]);
      const cold = coldTsc(TS_DIRS["5.9"], a, args, ["out", join(other, "out")]);
      expect(warm.output, args.join(" ")).toBe(cold.output);
      expect(warm.exitCode, args.join(" ")).toBe(cold.exitCode);
      expect(Object.fromEntries(warm.files), args.join(" ")).toEqual(Object.fromEntries(cold.files));
    }
    writeTree(a, { "base.json": JSON.stringify({ compilerOptions: { strict: false } }) });
    writeTree(a, {
      "tsconfig.json": JSON.stringify({ extends: join(a, "base.json"), compilerOptions: { module: "nodenext", lib: ["es2022"], types: [], outDir: join(a, "out"), rootDir: "src" }, include: ["src"] }),
    });
    const warm = await warmTsc(state, job(a, P), ["out"]);
    const cold = coldTsc(TS_DIRS["5.9"], a, P, ["out"]);
    expect(warm.output).toBe(cold.output);
    expect(Object.fromEntries(warm.files)).toEqual(Object.fromEntries(cold.files));
  });
});
