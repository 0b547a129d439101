import { appendFileSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { identityStats } from "./compiler-identity.js";
import { loadStats, loadTypeScript, TypeScriptResolutionError, type ResolvedTypeScript } from "./resolve-typescript.js";

const root = mkdtempSync(join(tmpdir(), "wb-resolve-ts-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MAIN = "exports.createEmitAndSemanticDiagnosticsBuilderProgram = function () {}; exports.copy = __dirname;\n";

/** A stand-in package with the one function loadTypeScript checks for, and one default lib file. */
function fakeTypeScript(name: string, version = "5.9.3", main = MAIN): string {
  const dir = join(root, name, "node_modules", "typescript");
  mkdirSync(join(dir, "lib"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "typescript", version, main: "lib/index.js" }));
  writeFileSync(join(dir, "lib", "index.js"), main);
  writeFileSync(join(dir, "lib", "lib.es5.d.ts"), "interface Array<T> {}\n");
  return dir;
}

/** The same package hard-linked into another directory, as a build directory of hard links has it. */
function linkedCopy(from: string, name: string): string {
  const dir = join(root, name, "node_modules", "typescript");
  mkdirSync(join(dir, "lib"), { recursive: true });
  for (const f of ["package.json", "lib/index.js", "lib/lib.es5.d.ts"]) linkSync(join(from, f), join(dir, f));
  return dir;
}

const at = (dir: string, version = "5.9.3"): ResolvedTypeScript => ({ dir, version, major: 5, source: "project" });
const copyOf = (api: unknown): string => (api as { copy: string }).copy;
const cachedUnder = (dir: string): string[] => Object.keys(createRequire(import.meta.url).cache).filter((id) => id.startsWith(dir + sep));

describe("loadTypeScript", () => {
  it("loads a package directory once", () => {
    const dir = fakeTypeScript("once", "5.9.1");
    const loads = loadStats.loads;
    const first = loadTypeScript(at(dir, "5.9.1"));
    expect(loadTypeScript(at(dir, "5.9.1")).api).toBe(first.api);
    expect(loadStats.loads).toBe(loads + 1);
    expect(first.libDir).toBe(join(dir, "lib"));
  });

  it("shares one instance between directories holding the same TypeScript, each with its own lib directory", () => {
    const a = fakeTypeScript("same-a", "5.9.2");
    const b = linkedCopy(a, "same-b");
    const c = join(root, "same-c", "node_modules", "typescript");
    mkdirSync(join(c, "lib"), { recursive: true });
    for (const f of ["package.json", "lib/index.js", "lib/lib.es5.d.ts"]) copyFileSync(join(a, f), join(c, f));
    const loads = loadStats.loads;
    const fromA = loadTypeScript(at(a, "5.9.2"));
    const hashed = identityStats.hashedFiles;
    const fromB = loadTypeScript(at(b, "5.9.2"));
    // Hard links are recognised by inode: nothing is hashed again.
    expect(identityStats.hashedFiles).toBe(hashed);
    rmSync(join(root, "same-a"), { recursive: true });
    const fromC = loadTypeScript(at(c, "5.9.2"));
    expect(identityStats.hashedFiles).toBe(hashed + 3);
    expect(loadStats.loads).toBe(loads + 1);
    expect(fromB.api).toBe(fromA.api);
    expect(fromC.api).toBe(fromA.api);
    expect(fromB.identity).toBe(fromA.identity);
    expect(fromB.instance).toBe(fromA.instance);
    expect([fromA.libDir, fromB.libDir, fromC.libDir]).toEqual([join(a, "lib"), join(b, "lib"), join(c, "lib")]);
    // The require cache keeps no copy per directory: the loaded instance is held by loadTypeScript.
    expect(cachedUnder(a)).toEqual([]);
  });

  it("does not share between different versions, compiler code or lib files", () => {
    const base = loadTypeScript(at(fakeTypeScript("diff-base", "5.9.4"), "5.9.4"));
    const otherVersion = loadTypeScript(at(fakeTypeScript("diff-version", "5.9.5"), "5.9.5"));
    const otherCode = loadTypeScript(at(fakeTypeScript("diff-code", "5.9.4", MAIN + "// patched\n"), "5.9.4"));
    const libDir = fakeTypeScript("diff-lib", "5.9.4");
    appendFileSync(join(libDir, "lib", "lib.es5.d.ts"), "interface Patched {}\n");
    const otherLib = loadTypeScript(at(libDir, "5.9.4"));
    const identities = new Set([base, otherVersion, otherCode, otherLib].map((t) => t.identity));
    expect(identities.size).toBe(4);
    expect(otherVersion.api).not.toBe(base.api);
    expect(otherCode.api).not.toBe(base.api);
    expect(otherLib.api).not.toBe(base.api);
  });

  it("reports a package without its main module as a resolution error", () => {
    const dir = fakeTypeScript("no-main", "5.9.7");
    rmSync(join(dir, "lib", "index.js"));
    expect(() => loadTypeScript(at(dir, "5.9.7"))).toThrow(TypeScriptResolutionError);
    expect(() => loadTypeScript(at(dir, "5.9.7"))).toThrow(/cannot read TypeScript 5\.9\.7 at .*no-main/);
  });

  it("loads a directory's new content afresh, not the module cached from its old content", () => {
    const dir = fakeTypeScript("in-place", "5.9.6");
    const before = loadTypeScript(at(dir, "5.9.6"));
    writeFileSync(join(dir, "lib", "index.js"), MAIN + "exports.changed = true;\n");
    const after = loadTypeScript(at(dir, "5.9.6"));
    expect(after.identity).not.toBe(before.identity);
    expect(after.api).not.toBe(before.api);
    expect((after.api as unknown as { changed?: boolean }).changed).toBe(true);
    expect(copyOf(after.api)).toBe(join(dir, "lib"));
  });
});
