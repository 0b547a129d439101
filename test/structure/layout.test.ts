// The README's layout table is the map a newcomer reads first: it must name every folder and
// top-level module under src/, and name nothing that does not exist.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The backquoted paths in the first column of the README's "## Layout" table. */
function layoutPaths(readme: string): string[] {
  const section = readme.slice(readme.indexOf("\n## Layout"));
  const end = section.indexOf("\n## ", 1);
  const rows = (end < 0 ? section : section.slice(0, end)).split("\n").filter((l) => l.startsWith("| `"));
  return rows.flatMap((row) => [...row.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

describe("README layout table", () => {
  const paths = layoutPaths(readFileSync(join(ROOT, "README.md"), "utf8"));

  it("is found", () => {
    expect(paths.length).toBeGreaterThan(5);
  });

  it("names only paths that exist", () => {
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it("names every folder and top-level module under src/", () => {
    const entries = readdirSync(join(ROOT, "src"), { withFileTypes: true })
      .filter((e) => e.isDirectory() || (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")))
      .map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`));
    expect(entries.filter((e) => !paths.includes(e))).toEqual([]);
  });

  it("the check sees a missing folder (so it can fail)", () => {
    expect(layoutPaths("intro\n## Layout\n\n| path | job |\n|---|---|\n| `src/a/`, `src/b.ts` | x |\n").sort()).toEqual(["src/a/", "src/b.ts"]);
  });
});
