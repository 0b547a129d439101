// `node --import tsx bench/tsc-bazel.ts [--compiler=7|5.9|6.0] [--libs=N] [--files=N] [--keep]`:
// real Bazel builds of a generated workspace (default 20 libraries × 25 files = 500 files) using
// bazel-demo's `ts_library` rule (copied from bazel-demo/ts/defs.bzl at generation time), through
// the tsc worker and one-shot (`--strategy=TsCompile=local`, the bridge run once per action with
// a throwaway state directory, i.e. a cold compiler). Scenarios: clean build, one function-body
// edit, one exported-API edit in the first library that cascades through every library.
// Generated into a temp directory and removed afterwards; the Bazel server is shut down.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEMO = join(ROOT, "bazel-demo");
const CLI = join(ROOT, "dist", "cli.js");
const COMPILERS: Record<string, string> = {
  "7": join(ROOT, "node_modules", "typescript-7"),
  "5.9": join(ROOT, "node_modules", "typescript"),
  "6.0": join(ROOT, "node_modules", "typescript-6.0"),
};

const flag = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const compiler = flag("compiler", "7");
const LIBS = Number(flag("libs", "20"));
const FILES = Number(flag("files", "25"));
const keep = process.argv.includes("--keep");
if (!(compiler in COMPILERS) || !(LIBS >= 2) || !(FILES >= 3)) {
  process.stderr.write("usage: bench/tsc-bazel.ts [--compiler=7|5.9|6.0] [--libs=N>=2] [--files=N>=3] [--keep]\n");
  process.exit(2);
}
const bazel = spawnSync("bazel", ["--version"], { encoding: "utf8" });
if (bazel.error) {
  process.stderr.write("bench/tsc-bazel.ts: bazel is not installed; skipped\n");
  process.exit(0);
}
if (!existsSync(CLI)) {
  process.stderr.write(`bench/tsc-bazel.ts: ${CLI} not found; run \`npm run build\` first\n`);
  process.exit(2);
}

const lib = (i: number) => `lib${String(i).padStart(2, "0")}`;
/** Each library depends on the previous one and on the one at half its index: every edit of lib00's API reaches all. */
const depsOf = (i: number): number[] => (i === 0 ? [] : [...new Set([i - 1, Math.floor(i / 2)])]);

function fileText(l: number, f: number, api: string, body: string): string {
  const own = f > 0 ? `import { make${f - 1}, type Part${f - 1} } from "./f${f - 1}.js";\n` : "";
  const deps = f === FILES - 1 ? "" : depsOf(l).map((d) => `import { make as make${lib(d)}, type Item as Item${lib(d)} } from "${lib(d)}";\n`).join("");
  const depFields = f === FILES - 1 ? "" : depsOf(l).map((d) => `  readonly from${lib(d)}: Item${lib(d)} = make${lib(d)}(${f});\n`).join("");
  return `${own}${deps}
/** ${lib(l)} part ${f}. */
export class Part${f} {
  readonly id: number;
${f > 0 ? `  readonly prev: Part${f - 1} = make${f - 1}(1);\n` : ""}${depFields}  constructor(id: number) {
    this.id = id;
  }
  weight(): number {
    let w = this.id;
    for (let i = 0; i < 3; i++) w += i * ${f + 1};
    return w${body};
  }
}
export function make${f}(id: number${api}): Part${f} {
  return new Part${f}(id + ${l});
}
`;
}

function indexText(l: number): string {
  return `import { Part${FILES - 1}, make${FILES - 1} } from "./f${FILES - 1}.js";
export { Part0 } from "./f0.js";
export type Item = Part${FILES - 1};
export function make(n: number): Item {
  return make${FILES - 1}(n * ${l + 1});
}
export const NAME = "${lib(l)}";
`;
}

function generate(ws: string, stateDir: string): void {
  mkdirSync(join(ws, "tools"), { recursive: true });
  mkdirSync(join(ws, "ts"), { recursive: true });
  writeFileSync(join(ws, "WORKSPACE"), `workspace(name = "tsc_bench")\n`);
  copyFileSync(join(DEMO, ".bazelrc"), join(ws, ".bazelrc"));
  copyFileSync(join(DEMO, "tools", "BUILD"), join(ws, "tools", "BUILD"));
  copyFileSync(join(DEMO, "ts", "defs.bzl"), join(ws, "ts", "defs.bzl"));
  // The worker executable: this repository's bridge with the compiler under test. As a worker it
  // keeps its TypeScript 7 state in `stateDir`; run once per action (local strategy) it gets a
  // throwaway state directory, i.e. it compiles cold like a plain one-shot compiler.
  const wrapper = `#!/bin/sh
set -eu
node='${process.execPath}'
cli='${CLI}'
extra="--typescript=${COMPILERS[compiler]}"
case " $* " in
  *" --persistent_worker "*) exec "$node" "$cli" "$@" $extra --state-dir='${stateDir}' ;;
esac
state=$(mktemp -d)
status=0
"$node" "$cli" "$@" $extra --state-dir="$state" || status=$?
rm -rf "$state"
exit $status
`;
  writeFileSync(join(ws, "tools", "worker-bridge"), wrapper);
  chmodSync(join(ws, "tools", "worker-bridge"), 0o755);
  const targets: string[] = [`load(":defs.bzl", "ts_library")\n`];
  for (let l = 0; l < LIBS; l++) {
    mkdirSync(join(ws, "ts", lib(l)), { recursive: true });
    const srcs: string[] = [];
    for (let f = 0; f < FILES - 1; f++) {
      writeFileSync(join(ws, "ts", lib(l), `f${f}.ts`), fileText(l, f, "", ""));
      srcs.push(`"${lib(l)}/f${f}.ts"`);
    }
    writeFileSync(join(ws, "ts", lib(l), `f${FILES - 1}.ts`), fileText(l, FILES - 1, "", ""));
    srcs.push(`"${lib(l)}/f${FILES - 1}.ts"`);
    writeFileSync(join(ws, "ts", lib(l), "index.ts"), indexText(l));
    srcs.push(`"${lib(l)}/index.ts"`);
    targets.push(
      `ts_library(\n    name = "${lib(l)}",\n    srcs = [${srcs.join(", ")}],\n    deps = [${depsOf(l).map((d) => `":${lib(d)}"`).join(", ")}],\n)\n`,
    );
  }
  writeFileSync(join(ws, "ts", "BUILD"), targets.join("\n"));
}

function listOutputs(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listOutputs(p, base, out);
    else if (/\.(js|map|d\.ts)$/.test(e.name)) out.set(p.slice(base.length + 1), readFileSync(p, "utf8"));
  }
  return out;
}

function bazelRun(ws: string, userRoot: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync("bazel", [`--output_user_root=${userRoot}`, ...args], { cwd: ws, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`bazel ${args.join(" ")} exited ${r.status}:\n${(r.stderr ?? "").slice(-4000)}`);
  return ms;
}

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), "tsc-bazel-bench-"));
  const ws = join(tmp, "ws");
  const userRoot = join(tmp, "bazel-root");
  const stateDir = join(tmp, "state");
  generate(ws, stateDir);
  const build = (extra: string[]) => bazelRun(ws, userRoot, ["build", "//ts/...", ...extra]);
  const edit = (l: number, f: number, api: string, body: string) => writeFileSync(join(ws, "ts", lib(l), `f${f}.ts`), fileText(l, f, api, body));
  const mid = Math.floor(LIBS / 2);
  const fm = Math.floor(FILES / 2);
  const rows: { strategy: string; clean: number; body: number; api: number }[] = [];
  try {
    const serverMs = bazelRun(ws, userRoot, ["info", "release"]);
    const outputs: Map<string, string>[] = [];
    let warmTargets = 0;
    for (const [strategy, extra] of [
      ["worker", []],
      ["one-shot (--strategy=TsCompile=local)", ["--strategy=TsCompile=local"]],
    ] as const) {
      process.stderr.write(`bench/tsc-bazel.ts: ${strategy}\n`);
      edit(mid, fm, "", "");
      edit(0, fm, "", "");
      bazelRun(ws, userRoot, ["clean"]);
      rmSync(stateDir, { recursive: true, force: true });
      const clean = build([...extra]);
      edit(mid, fm, "", " + 1");
      const body = build([...extra]);
      edit(0, fm, ", scale?: number", "");
      const api = build([...extra]);
      rows.push({ strategy, clean, body, api });
      outputs.push(listOutputs(join(ws, "bazel-bin", "ts")));
      if (strategy === "worker") warmTargets = existsSync(join(stateDir, "v1", "targets")) ? readdirSync(join(stateDir, "v1", "targets")).length : 0;
    }
    const [a, b] = outputs as [Map<string, string>, Map<string, string>];
    const differing = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
    if (differing.length > 0) throw new Error(`worker and one-shot outputs differ: ${differing.slice(0, 5).join(", ")}`);
    const [w, o] = rows as [(typeof rows)[number], (typeof rows)[number]];
    const f = (ms: number) => (ms / 1000).toFixed(1);
    const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
    process.stdout.write(
      [
        `## tsc under real Bazel: ${LIBS} ts_library targets, ${LIBS * (FILES + 1)} files, TypeScript ${compiler}`,
        "",
        `Generated workspace (bench/tsc-bazel.ts) with bazel-demo's ts_library; Bazel ${(bazel.stdout || "").trim() || "(no version)"}; server start ${f(serverMs)} s (not counted).`,
        `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()[0]!.toFixed(1)} at the end. Wall time of \`bazel build //ts/...\`, seconds, one run each.`,
        "",
        `Outputs of the final builds: ${a.size} files, byte-identical between worker and one-shot. TypeScript 7 targets kept in the worker's state directory: ${warmTargets}.`,
        "",
        "| situation | worker (s) | one-shot (s) | worker vs one-shot |",
        "|---|---:|---:|---:|",
        `| clean build | ${f(w.clean)} | ${f(o.clean)} | ${x(o.clean, w.clean)} |`,
        `| one body edit (${lib(mid)}) | ${f(w.body)} | ${f(o.body)} | ${x(o.body, w.body)} |`,
        `| exported-API edit in ${lib(0)} (cascades through every library) | ${f(w.api)} | ${f(o.api)} | ${x(o.api, w.api)} |`,
        "",
      ].join("\n"),
    );
  } finally {
    spawnSync("bazel", [`--output_user_root=${userRoot}`, "shutdown"], { cwd: ws });
    if (keep) process.stderr.write(`bench/tsc-bazel.ts: kept ${tmp}\n`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main();
