// A small multi-package TypeScript project that a seeded random walk mutates: edits, type errors
// and fixes, added/deleted/renamed files, tsconfig changes, a removed dependency, branch switches.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ToolInput } from "../../src/tool-api/define-tool.js";

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Files = Map<string, string>;

const PACKAGES = ["core", "util", "extra", "app"] as const;

function initialFiles(): Files {
  const f: Files = new Map();
  f.set("packages/core/src/c0.ts", `export const c0_v = 1;\nexport function c0_f(x: number): number {\n  return x + c0_v;\n}\n`);
  f.set("packages/core/src/c1.ts", `import { c0_f } from "./c0.js";\nexport interface Shape { kind: "circle" | "square"; size: number }\nexport const c1_v = c0_f(2);\nexport function area(s: Shape): number {\n  return s.kind === "circle" ? 3 * s.size * s.size : s.size * s.size;\n}\n`);
  f.set("packages/core/src/c2.ts", `/** doc comment kept or removed by removeComments */\nexport class Box<T> {\n  constructor(readonly value: T) {}\n  map<U>(fn: (v: T) => U): Box<U> {\n    return new Box(fn(this.value));\n  }\n}\n`);
  f.set("packages/util/src/u0.ts", `import { c1_v, area } from "../../core/src/c1.js";\nexport const u0_v = c1_v * 2;\nexport const u0_area = area({ kind: "square", size: u0_v });\n`);
  f.set("packages/util/src/u1.ts", `import { Box } from "../../core/src/c2.js";\nimport { u0_v } from "./u0.js";\nexport const u1_box = new Box(u0_v).map((v) => String(v));\n`);
  f.set("packages/extra/src/e0.ts", `export const e0_version: string = EXTRA_VERSION;\n`);
  f.set("packages/app/src/main.ts", `import { u1_box } from "../../util/src/u1.js";\nimport { depFn } from "dep-lib";\nimport { c0_v } from "../../core/src/c0.js";\nexport const main_v: string = u1_box.value + depFn() + c0_v;\n`);
  f.set("node_modules/@types/extra/index.d.ts", `declare const EXTRA_VERSION: string;\n`);
  f.set("node_modules/@types/extra/package.json", `{ "name": "@types/extra", "version": "1.0.0", "types": "index.d.ts" }\n`);
  f.set("node_modules/dep-lib/package.json", `{ "name": "dep-lib", "version": "1.0.0", "types": "index.d.ts", "main": "index.js" }\n`);
  f.set("node_modules/dep-lib/index.d.ts", `export declare function depFn(): number;\n`);
  return f;
}

export interface TsconfigOptions {
  strict: boolean;
  declaration: boolean;
  sourceMap: boolean;
  declarationMap: boolean;
  noEmitOnError: boolean;
  incremental: boolean;
  removeComments: boolean;
  target: "es2020" | "es2022";
  noUnusedLocals: boolean;
  rootDir: boolean;
}

const OPTION_KEYS: readonly (keyof TsconfigOptions)[] = [
  "strict", "declaration", "sourceMap", "declarationMap", "noEmitOnError", "incremental", "removeComments", "target", "noUnusedLocals", "rootDir",
];

function tsconfigText(o: TsconfigOptions): string {
  const compilerOptions: Record<string, unknown> = {
    module: "nodenext",
    target: o.target,
    outDir: "out",
    strict: o.strict,
    declaration: o.declaration,
    sourceMap: o.sourceMap,
    declarationMap: o.declarationMap,
    noEmitOnError: o.noEmitOnError,
    incremental: o.incremental,
    removeComments: o.removeComments,
    noUnusedLocals: o.noUnusedLocals,
    // Only es2022's lib (no DOM) and no re-checking of lib files keep each cold run short.
    lib: ["es2022"],
    skipDefaultLibCheck: true,
  };
  if (o.rootDir) compilerOptions.rootDir = ".";
  return JSON.stringify({ compilerOptions, include: ["packages"] }, null, 2) + "\n";
}

export class FixtureProject {
  files: Files = initialFiles();
  options: TsconfigOptions = {
    strict: true, declaration: true, sourceMap: false, declarationMap: false, noEmitOnError: false,
    incremental: false, removeComments: false, target: "es2022", noUnusedLocals: false, rootDir: true,
  };
  private branches = new Map<string, { files: Files; options: TsconfigOptions }>();
  private branch = "main";
  private counter = 0;
  private written = new Set<string>();

  constructor(readonly root: string, private readonly random: () => number) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private sourceFiles(): string[] {
    return [...this.files.keys()].filter((p) => p.startsWith("packages/")).sort();
  }

  /** Writes the model to disk: changed files rewritten, removed files deleted. */
  sync(): void {
    const all = new Map(this.files);
    all.set("tsconfig.json", tsconfigText(this.options));
    for (const p of this.written) {
      if (!all.has(p)) rmSync(join(this.root, p), { force: true });
    }
    for (const [p, text] of all) {
      mkdirSync(dirname(join(this.root, p)), { recursive: true });
      writeFileSync(join(this.root, p), text);
    }
    this.written = new Set(all.keys());
    // Empty directories would still be visible to tsc's directory probes; remove them like git does.
    pruneEmptyDirs(join(this.root, "node_modules"));
    pruneEmptyDirs(join(this.root, "packages"));
  }

  /** What Bazel would send: every file of the project with a content digest. */
  inputs(): ToolInput[] {
    return [...this.written].sort().map((p) => ({
      path: p,
      digest: createHash("sha256").update(join(this.root, p) + "\0" + (p === "tsconfig.json" ? tsconfigText(this.options) : this.files.get(p)!)).digest(),
    }));
  }

  /** Applies one random mutation and returns a description (for replaying a failure). */
  step(): string {
    const r = this.random();
    const n = ++this.counter;
    const files = this.sourceFiles();
    if (r < 0.33) {
      const p = this.pick(files);
      const text = this.files.get(p)!;
      const replaced = text.replace(/= (\d+);/, () => `= ${n};`);
      const edited = replaced !== text ? replaced : text + `export const edit_${n} = ${n};\n`;
      this.files.set(p, edited);
      return `edit ${p}`;
    }
    if (r < 0.45) {
      const p = this.pick(files);
      this.files.set(p, this.files.get(p)! + `export const err_${n}: number = "type error ${n}";\n`);
      return `introduce type error in ${p}`;
    }
    if (r < 0.55) {
      const broken = files.filter((p) => this.files.get(p)!.includes("err_") || this.files.get(p)!.includes("string = 4"));
      if (broken.length === 0) return this.step();
      const p = this.pick(broken);
      this.files.set(p, this.files.get(p)!.split("\n").filter((l) => !l.includes("err_")).join("\n"));
      return `fix type errors in ${p}`;
    }
    if (r < 0.61) {
      const pkg = this.pick(PACKAGES);
      const p = `packages/${pkg}/src/n${n}.ts`;
      this.files.set(p, `import { c0_v } from "../../core/src/c0.js";\nexport const n${n} = c0_v + ${n};\n`);
      if (this.random() < 0.6) {
        const importer = this.pick(files.filter((f) => f.startsWith(`packages/${pkg}/`)).concat(files.slice(0, 1)));
        if (importer.startsWith(`packages/${pkg}/`)) {
          this.files.set(importer, `import { n${n} } from "./n${n}.js";\n` + this.files.get(importer)! + `export const use_n${n} = n${n};\n`);
        }
      }
      return `add ${p}`;
    }
    if (r < 0.66) {
      const candidates = files.filter((p) => !p.endsWith("c0.ts"));
      if (candidates.length < 3) return this.step();
      const p = this.pick(candidates);
      this.files.delete(p);
      return `delete ${p}`;
    }
    if (r < 0.72) {
      const candidates = files.filter((p) => !p.endsWith("c0.ts"));
      const p = this.pick(candidates);
      const base = p.slice(p.lastIndexOf("/") + 1, -3);
      const to = p.replace(/[^/]+\.ts$/, `r${n}.ts`);
      this.files.set(to, this.files.get(p)!);
      this.files.delete(p);
      const updateImports = this.random() < 0.6;
      if (updateImports) {
        for (const f of this.files.keys()) {
          const text = this.files.get(f)!;
          const updated = text.split(`/${base}.js"`).join(`/r${n}.js"`);
          if (updated !== text) this.files.set(f, updated);
        }
      }
      return `rename ${p} -> ${to}${updateImports ? " (imports updated)" : ""}`;
    }
    if (r < 0.83) {
      const key = this.pick(OPTION_KEYS);
      if (key === "target") this.options.target = this.options.target === "es2020" ? "es2022" : "es2020";
      else this.options[key] = !this.options[key];
      return `tsconfig: ${key} = ${String(this.options[key])}`;
    }
    if (r < 0.89) {
      const dep = this.pick(["node_modules/@types/extra", "node_modules/dep-lib"]);
      const present = [...this.files.keys()].some((p) => p.startsWith(dep + "/"));
      const fresh = initialFiles();
      if (present) {
        for (const p of [...this.files.keys()]) if (p.startsWith(dep + "/")) this.files.delete(p);
        return `remove dependency ${dep}`;
      }
      for (const [p, t] of fresh) if (p.startsWith(dep + "/")) this.files.set(p, t);
      return `restore dependency ${dep}`;
    }
    if (r < 0.94) {
      // A dependency's API changes without any of our files changing.
      const p = "node_modules/dep-lib/index.d.ts";
      if (!this.files.has(p)) return this.step();
      const returnsString = this.files.get(p)!.includes("string");
      this.files.set(p, `export declare function depFn(): ${returnsString ? "number" : "string"};\n`);
      return `dep-lib now returns ${returnsString ? "number" : "string"}`;
    }
    const target = this.branch === "main" ? "feature" : "main";
    this.branches.set(this.branch, { files: new Map(this.files), options: { ...this.options } });
    const saved = this.branches.get(target);
    if (saved) {
      this.files = new Map(saved.files);
      this.options = { ...saved.options };
    }
    this.branch = target;
    return `switch to branch ${target}${saved ? "" : " (new)"}`;
  }
}

function pruneEmptyDirs(dir: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  let empty = true;
  for (const e of entries) {
    if (e.isDirectory() && pruneEmptyDirs(join(dir, e.name))) continue;
    empty = false;
  }
  if (empty) rmSync(dir, { recursive: true, force: true });
  return empty;
}
