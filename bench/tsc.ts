// `node --import tsx bench/tsc.ts [--quick] [--only=5.9|6.0|7|7.1[,…]]`: the warm tsc worker against
// one-shot runs of the same compiler, and against a cold `tsgo` (TypeScript 7 native) one-shot, on
// a generated project (500 modules in 20 libraries; --quick: 40 in 4), for a clean build, one
// function-body edit and one exported-API edit that cascades through every library. All contenders
// run alternately on the same project state in one run; the tables show medians and ratios.
// Nothing here asserts speed (see bench/README-tsc.md).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const COMPILERS = {
  "5.9": join(ROOT, "node_modules", "typescript"),
  "6.0": join(ROOT, "node_modules", "typescript-6.0"),
  "7": join(ROOT, "node_modules", "typescript-7"),
  /** A 7.1 nightly: it emits through its compiler API, so the worker keeps it warm in memory. */
  "7.1": join(ROOT, "node_modules", "typescript-7.1-nightly"),
} as const;
type Version = keyof typeof COMPILERS;
const nativeBinary = (packageDir: string): string =>
  join(packageDir, "node_modules", "@typescript", `typescript-${process.platform}-${process.arch}`, "lib", process.platform === "win32" ? "tsc.exe" : "tsc");
const TSGO = nativeBinary(ROOT);
/** The nightly's own binary (nested: the top-level platform package is 7.0's). */
const TSGO_NIGHTLY = nativeBinary(COMPILERS["7.1"]);

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
/** One compiler or several, comma-separated (`--only=7,7.1`). */
const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
/** Passed to the worker as is (TypeScript 7's thread budget); the default is the worker's own. */
const threadsFlag = argv.find((a) => a.startsWith("--tsgo-threads="));
const unknown = argv.filter((a) => a !== "--quick" && !a.startsWith("--only=") && a !== threadsFlag);
if (unknown.length > 0 || (only !== undefined && !only.every((v) => v in COMPILERS))) {
  process.stderr.write(`bench/tsc.ts: usage: bench/tsc.ts [--quick] [--only=5.9|6.0|7|7.1[,…]] [--tsgo-threads=N]\n`);
  process.exit(2);
}
const PACKAGES = quick ? 4 : 20;
const MODULES_PER_PACKAGE = quick ? 10 : 25;
const REPS = quick ? 1 : 3;

for (const need of [CLI, TSGO]) {
  if (!existsSync(need)) {
    process.stderr.write(`bench/tsc.ts: ${need} not found; run \`npm ci\` and \`npm run build\` first\n`);
    process.exit(2);
  }
}

// ---- fixture -------------------------------------------------------------------------------

function moduleText(p: number, m: number, api: string, body: string): string {
  const deps: string[] = [];
  if (m > 0) deps.push(`./m${m - 1}.js`);
  if (m > 1) deps.push(`./m${Math.floor(m / 2)}.js`);
  if (p > 0) deps.push(`../../p${p - 1}/src/m${m}.js`);
  const imports = deps.map((d, i) => `import { Model as Dep${i}, make as make${i} } from "${d}";`).join("\n");
  const uses = deps.map((_, i) => `  readonly d${i}: Dep${i} = make${i}(${i});`).join("\n");
  return `${imports}
/** Module ${p}/${m}. */
export interface Options { readonly id: number; readonly name: string; readonly tags: readonly string[] }
export class Model {
  readonly id: number;
  readonly values = new Map<string, number>();
${uses}
  constructor(id: number) {
    this.id = id;
  }
  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v;
    return sum + this.id${body};
  }
  describe(o: Options): string {
    return \`\${o.name}#\${o.id}:\${o.tags.join(",")}:\${this.total()}\`;
  }
}
export function make(id: number${api}): Model {
  return new Model(id * ${p + 1} + ${m});
}
export const VALUE_${p}_${m} = ${m * 7 + p};
export type Pick${m}<T> = { [K in keyof T as K extends string ? \`get\${Capitalize<K>}\` : never]: () => T[K] };
export const picked: Pick${m}<{ name: string; size: number }> = { getName: () => "n", getSize: () => ${m} };
`;
}

function writeFixture(root: string): string[] {
  const files = ["tsconfig.json"];
  writeFileSync(
    join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { module: "nodenext", target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, outDir: "out", rootDir: "." },
      include: ["p*/src"],
    }),
  );
  for (let p = 0; p < PACKAGES; p++) {
    mkdirSync(join(root, `p${p}`, "src"), { recursive: true });
    for (let m = 0; m < MODULES_PER_PACKAGE; m++) {
      const rel = `p${p}/src/m${m}.ts`;
      writeFileSync(join(root, rel), moduleText(p, m, "", ""));
      files.push(rel);
    }
  }
  return files;
}

/** What Bazel sends: every input with a content digest. */
function inputs(root: string, files: readonly string[]): { path: string; digest: string }[] {
  return files.map((path) => ({ path, digest: createHash("sha256").update(readFileSync(join(root, path))).digest("hex") }));
}

// ---- contenders ----------------------------------------------------------------------------

interface Timed {
  ms: number;
  exitCode: number;
}

function oneShot(version: Version, root: string): Timed {
  rmSync(join(root, "out"), { recursive: true, force: true });
  const [file, args] = version === "7" ? [TSGO, []] : version === "7.1" ? [TSGO_NIGHTLY, []] : [process.execPath, [join(COMPILERS[version], "lib", "tsc.js")]];
  const start = performance.now();
  const r = spawnSync(file, [...args, "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
  return { ms: performance.now() - start, exitCode: r.status ?? -1 };
}

/** worker-bridge as a Bazel JSON worker (process host), driven over stdin/stdout like Bazel does. */
class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = "";
  private waiting: ((line: string) => void) | undefined;
  private stderr = "";
  private closing = false;
  maxHeapMb = 0;
  lastNotes = "";

  constructor(root: string, version: Version, stateDir: string) {
    this.child = spawn(
      process.execPath,
      [CLI, "--tool", "tsc", "--protocol=json", "--concurrency=1", "--persistent_worker", `--typescript=${COMPILERS[version]}`, `--state-dir=${stateDir}`, ...(threadsFlag ? [threadsFlag] : [])],
      { cwd: root },
    );
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.buffer += chunk;
      const nl = this.buffer.indexOf("\n");
      if (nl !== -1 && this.waiting) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      }
    });
    // The bridge's own log lines are kept, and shown only if the worker dies.
    this.child.stderr.on("data", (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-8000);
    });
    this.child.on("exit", (code, signal) => {
      if (!this.closing) {
        process.stderr.write(`bench/tsc.ts: worker exited (${code ?? signal}) unexpectedly; its stderr:\n${this.stderr}\n`);
        process.exit(1);
      }
    });
  }

  async build(root: string, files: readonly string[]): Promise<Timed> {
    rmSync(join(root, "out"), { recursive: true, force: true }); // as Bazel deletes outputs
    const request = { arguments: ["-p", "tsconfig.json"], inputs: inputs(root, files), requestId: 0, verbosity: 1 };
    const start = performance.now();
    const line = await new Promise<string>((resolve) => {
      this.waiting = resolve;
      this.child.stdin.write(JSON.stringify(request) + "\n");
    });
    const ms = performance.now() - start;
    const response = JSON.parse(line) as { exitCode?: number; output?: string };
    const heap = /max seen (\d+) MiB/.exec(response.output ?? "");
    if (heap) this.maxHeapMb = Math.max(this.maxHeapMb, Number(heap[1]));
    this.lastNotes = (response.output ?? "").split("\n").filter((l) => l.startsWith("worker-bridge: tsc: ")).join("\n");
    return { ms, exitCode: response.exitCode ?? 0 };
  }

  close(): Promise<void> {
    this.closing = true;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    return new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once("exit", () => resolve());
    }).finally(() => clearTimeout(timer));
  }
}

// ---- measurement ---------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Row {
  version: Version;
  scenario: string;
  oneShot: number;
  worker: number;
  tsgo: number;
}

const BODY_TARGET = (p: number) => `p${p}/src/m${Math.floor(MODULES_PER_PACKAGE / 2)}.ts`;

async function benchVersion(version: Version, temps: string[]): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), `tsc-bench-${version}-`));
  temps.push(root);
  const files = writeFixture(root);
  const mid = Math.floor(PACKAGES / 2);
  const mm = Math.floor(MODULES_PER_PACKAGE / 2);
  const rows: Row[] = [];
  const check = (what: string, t: Timed): Timed => {
    if (t.exitCode !== 0) throw new Error(`${version} ${what}: exit code ${t.exitCode}`);
    return t;
  };

  // Clean build: a fresh worker process with an empty state directory, against one-shots.
  const clean: Row = { version, scenario: "clean build", oneShot: 0, worker: 0, tsgo: 0 };
  const cw: number[] = [];
  const co: number[] = [];
  const ct: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const state = mkdtempSync(join(tmpdir(), "tsc-bench-state-"));
    temps.push(state);
    const w = new Worker(root, version, state);
    cw.push(check("clean worker build", await w.build(root, files)).ms);
    await w.close();
    co.push(check("one-shot", oneShot(version, root)).ms);
    ct.push(check("tsgo", oneShot("7", root)).ms);
  }
  Object.assign(clean, { worker: median(cw), oneShot: median(co), tsgo: median(ct) });
  rows.push(clean);

  const state = mkdtempSync(join(tmpdir(), "tsc-bench-state-"));
  temps.push(state);
  const worker = new Worker(root, version, state);
  check("first build", await worker.build(root, files));
  const edits: { name: string; file: string; p: number; m: number; kind: "body" | "api" }[] = [
    // A function body in the middle library: no declaration changes.
    { name: "one body edit", file: BODY_TARGET(mid), p: mid, m: mm, kind: "body" },
    // An exported signature in the first library: importers in every library are re-checked.
    { name: "exported-API edit (cascades through every library)", file: BODY_TARGET(0), p: 0, m: mm, kind: "api" },
  ];
  for (const e of edits) {
    const ws: number[] = [];
    const os: number[] = [];
    const ts: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      // Each rep is one more edit of the same kind: the worker always sees exactly one change.
      const variant = rep + 1;
      writeFileSync(
        join(root, e.file),
        e.kind === "body" ? moduleText(e.p, e.m, "", ` + ${variant}`) : moduleText(e.p, e.m, `, scale${variant}?: number`, ""),
      );
      os.push(check(e.name, oneShot(version, root)).ms);
      ws.push(check(e.name, await worker.build(root, files)).ms);
      if ((version === "7" || version === "7.1") && rep === 0) process.stderr.write(`  ${e.name}: ${worker.lastNotes.replace(/\n/g, " | ")}\n`);
      ts.push(check("tsgo", oneShot("7", root)).ms);
    }
    writeFileSync(join(root, e.file), moduleText(e.p, e.m, "", ""));
    await worker.build(root, files); // back to the baseline, unmeasured
    rows.push({ version, scenario: e.name, oneShot: median(os), worker: median(ws), tsgo: median(ts) });
  }
  await worker.close();
  return rows;
}

async function main(): Promise<void> {
  const temps: string[] = [];
  const versions = (Object.keys(COMPILERS) as Version[]).filter((v) => (only === undefined ? existsSync(COMPILERS[v]) : only.includes(v)));
  const rows: Row[] = [];
  const loadStart = loadavg()[0]!;
  try {
    for (const v of versions) {
      process.stderr.write(`bench/tsc.ts: TypeScript ${v}\n`);
      rows.push(...(await benchVersion(v, temps)));
    }
  } finally {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  }
  const f = (ms: number) => ms.toFixed(0);
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  const table = [
    "| compiler | situation | one-shot, same compiler (ms) | warm worker (ms) | worker vs one-shot | cold tsgo one-shot (ms) | worker vs cold tsgo |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.version} | ${r.scenario} | ${f(r.oneShot)} | ${f(r.worker)} | **${x(r.oneShot, r.worker)}** | ${f(r.tsgo)} | **${x(r.tsgo, r.worker)}** |`),
  ];
  const goal = (scenario: string, want: number, version: Version = "7"): string => {
    const r = rows.find((row) => row.version === version && row.scenario.startsWith(scenario));
    if (!r) return `not measured`;
    const ratio = r.tsgo / r.worker;
    return `${ratio.toFixed(1)}× (goal ≥ ${want}×: ${ratio >= want ? "holds" : "not met"})`;
  };
  const apiGoal = (): string => {
    const r = rows.find((row) => row.version === "7.1" && row.scenario === "one body edit");
    return r ? `${r.worker.toFixed(0)} ms (goal ≤ 50 ms: ${r.worker <= 50 ? "holds" : "not met"})` : "not measured";
  };
  const out = [
    `## tsc: warm worker vs one-shot and vs cold tsgo${quick ? " (--quick: smoke run, numbers not meaningful)" : ""}`,
    "",
    `${PACKAGES * MODULES_PER_PACKAGE} modules in ${PACKAGES} libraries (strict, declaration, sourceMap; ${PACKAGES * MODULES_PER_PACKAGE * 3} outputs); median of ${REPS} alternating runs;`,
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
    `The worker is worker-bridge as a Bazel JSON worker (process host, ${threadsFlag ?? "default --tsgo-threads"}) receiving one request per build with`,
    `declared inputs and digests; outputs deleted before every build. "clean build" is a fresh worker process with an empty state directory.`,
    "",
    ...table,
    "",
    `TypeScript 7 goals, same run: body edit ${goal("one body edit", 5)}; exported-API cascade ${goal("exported-API", 2.5)}.`,
    `TypeScript 7.1 nightly (API back end): body edit ${apiGoal()}; vs cold tsgo ${goal("one body edit", 5, "7.1")}.`,
    "",
  ].join("\n");
  process.stdout.write(out);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/tsc.ts: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
