// The code cites the repository's own docs: no citation may point outside the repository, and
// every "docs/protocol/<page>.md §N" (or docs/lessons.md) names a section that exists.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCANNED = ["src", "test", "bench", "scripts", "examples"];
// Spelled in pieces so this file does not match itself.
const OUTSIDE = [["spec", " §"].join(""), ["shared", "/spec"].join("")];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "results" ? [] : files(path);
    return /\.(ts|mts|mjs|js|md|sh)$/.test(e.name) ? [path] : [];
  });
}

/** Section numbers ("3", "3.2") that headings of a markdown page start with. */
export function sectionsOf(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#+ (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]!));
}

/** [page, section] for every "docs/(protocol/)page.md §A.B[, §C]" in `text`. */
export function citationsIn(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of text.matchAll(/docs\/((?:protocol\/)?[a-z0-9-]+)\.md((?:[ ,]*(?:and )?§[\d.]+(?:[–-]§?[\d.]+)?(?: #\d+)?)+)/g)) {
    for (const s of m[2]!.matchAll(/§([\d.]+)/g)) out.push([m[1]!, s[1]!.replace(/\.$/, "")]);
  }
  return out;
}

describe("citations", () => {
  const all = SCANNED.flatMap((d) => files(join(ROOT, d))).map((path) => ({ path: path.slice(ROOT.length + 1), text: readFileSync(path, "utf8") }));

  it("nothing cites protocol notes outside the repository", () => {
    const offending = all.filter((f) => OUTSIDE.some((o) => f.text.includes(o))).map((f) => f.path);
    expect(offending).toEqual([]);
  });

  it("every docs citation names an existing section", () => {
    const sections = new Map<string, Set<string>>();
    const missing: string[] = [];
    for (const f of all) {
      for (const [page, section] of citationsIn(f.text)) {
        if (!sections.has(page)) sections.set(page, sectionsOf(readFileSync(join(ROOT, "docs", `${page}.md`), "utf8")));
        const known = sections.get(page)!;
        const parts = section.split(".");
        if (!known.has(section) && !(parts.length > 2 && known.has(parts.slice(0, 2).join(".")))) missing.push(`${f.path}: docs/${page}.md §${section}`);
      }
    }
    expect(sections.size).toBeGreaterThan(2);
    expect(missing).toEqual([]);
  });

  it("the parsers see what they should (so the checks above can fail)", () => {
    expect(citationsIn("see docs/protocol/bazel-worker.md §5.2, §6 and docs/lessons.md §6 #2")).toEqual([
      ["protocol/bazel-worker", "5.2"],
      ["protocol/bazel-worker", "6"],
      ["lessons", "6"],
    ]);
    expect([...sectionsOf("# T\n## 5. A\n### 5.2 B\n")]).toEqual(["5", "5.2"]);
  });
});
