import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTypeScript } from "./resolve-typescript.js";

const root = mkdtempSync(join(tmpdir(), "wb-resolve-ts-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A stand-in package with the one function loadTypeScript checks for. */
function fakeTypeScript(name: string): string {
  const dir = join(root, name, "node_modules", "typescript");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "typescript", version: "5.9.3", main: "index.js" }));
  writeFileSync(join(dir, "index.js"), "exports.createEmitAndSemanticDiagnosticsBuilderProgram = function () {}; exports.copy = __dirname;\n");
  return dir;
}

const cachedUnder = (dir: string): string[] => Object.keys(createRequire(import.meta.url).cache).filter((id) => id.startsWith(dir + sep));

describe("loadTypeScript", () => {
  it("loads a package directory once", () => {
    const dir = fakeTypeScript("once");
    const first = loadTypeScript({ dir, version: "5.9.3", major: 5, source: "project" });
    expect(loadTypeScript({ dir, version: "5.9.3", major: 5, source: "project" })).toBe(first);
  });

  it("forgets a compiler whose directory is gone (one copy per finished sandbox must not pile up)", () => {
    const a = fakeTypeScript("sandbox-a");
    const apiA = loadTypeScript({ dir: a, version: "5.9.3", major: 5, source: "project" }) as unknown as { copy: string };
    expect(apiA.copy).toBe(a);
    expect(cachedUnder(a).length).toBeGreaterThan(0);
    rmSync(join(root, "sandbox-a"), { recursive: true });
    const b = fakeTypeScript("sandbox-b");
    const apiB = loadTypeScript({ dir: b, version: "5.9.3", major: 5, source: "project" }) as unknown as { copy: string };
    expect(apiB.copy).toBe(b);
    expect(cachedUnder(a)).toEqual([]);
    expect(cachedUnder(b).length).toBeGreaterThan(0);
  });
});
