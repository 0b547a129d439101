// The layering of src/, checked on every `npm test`: no import cycles (type-only and dynamic
// imports count: a cycle of any kind makes modules impossible to read or load one at a time), and
// the few dependency rules the layout relies on.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = join(ROOT, "src");

/** Relative specifiers in static imports/exports (type-only included) and dynamic import()s. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const pattern = /\b(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of text.matchAll(pattern)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec !== undefined && spec.startsWith(".")) specs.push(spec);
  }
  return specs;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** src-relative module -> src-relative modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    const deps = importsOf(readFileSync(file, "utf8")).map((spec) => relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, ".ts"));
    graph.set(from, deps);
  }
  return graph;
}

/** Every strongly connected component with more than one module, or a module importing itself. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

describe("src/ import structure", () => {
  const graph = importGraph();

  it("the cycle finder finds a cycle (so the check below can fail)", () => {
    const cyclic = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(findCycles(cyclic)).toEqual([["a.ts", "b.ts", "c.ts"]]);
    expect(importsOf('import type { X } from "./x.js";\nexport { y } from "./y.js";\nconst z = await import("./z.js");')).toEqual(["./x.js", "./y.js", "./z.js"]);
  });

  it("has no import cycles, type-only and dynamic imports included", () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(findCycles(graph)).toEqual([]);
  });

  it("the tool API imports nothing: a tool process loading it loads nothing else", () => {
    const toolApi = [...graph].filter(([m]) => m.startsWith("tool-api/"));
    expect(toolApi.length).toBeGreaterThan(0);
    for (const [, deps] of toolApi) expect(deps).toEqual([]);
  });

  const rules: [layer: string, mayNotImport: string[]][] = [
    ["protocol/", ["core/", "supervisor/", "frontends/", "runtime/", "cli/", "tools/", "record/"]],
    ["core/", ["supervisor/", "frontends/", "runtime/", "cli/", "tools/", "record/", "protocol/"]],
    ["supervisor/", ["frontends/", "runtime/", "cli/", "protocol/"]],
    ["frontends/", ["cli/"]],
    ["runtime/", ["frontends/", "cli/"]],
  ];
  for (const [layer, forbidden] of rules) {
    it(`${layer} imports nothing from ${forbidden.join(", ")}`, () => {
      const offending = [...graph]
        .filter(([m]) => m.startsWith(layer))
        .flatMap(([m, deps]) => deps.filter((d) => forbidden.some((f) => d.startsWith(f))).map((d) => `${m} -> ${d}`));
      expect(offending).toEqual([]);
    });
  }
});
