// `node --import tsx bench/tsc-in-process.ts [--quick]` (after `npm run build`): the warm TypeScript
// 5.9/6.0 back end against one-shot `tsc` of the same compiler, as ratios measured in one run, for
// issue 13's goals (no-change request ≤ 3 % of one-shot, one-file body edit ≤ 20 %), plus the same
// body edit arriving from a new directory (a new sandbox or remote action directory, issue 12).
// The worker is worker-bridge as a Bazel JSON persistent worker (process host) sent one request
// per build with declared inputs and digests, as Bazel does; outputs are deleted before every build.
// Contenders alternate on the same project state. Nothing here asserts speed.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const COMPILERS = { "5.9": join(ROOT, "node_modules", "typescript"), "6.0": join(ROOT, "node_modules", "typescript-6.0") } as const;
type Version = keyof typeof COMPILERS;

const quick = process.argv.includes("--quick");
const unknown = process.argv.slice(2).filter((a) => a !== "--quick");
if (unknown.length > 0) {
  process.stderr.write(`bench/tsc-in-process.ts: unknown argument(s) ${unknown.join(" ")}; usage: [--quick]\n`);
  process.exit(2);
}
if (!existsSync(CLI)) {
  process.stderr.write(`bench/tsc-in-process.ts: ${CLI} not found; run \`npm run build\` first\n`);
  process.exit(2);
}
const PACKAGES = quick ? 4 : 10;
const MODULES = quick ? 10 : 21;
const REPS = quick ? 1 : 5;

function moduleText(p: number, m: number, body: string): string {
  const deps: string[] = [];
  if (m > 0) deps.push(`./m${m - 1}.js`);
  if (m > 1) deps.push(`./m${Math.floor(m / 2)}.js`);
  if (p > 0) deps.push(`../../p${p - 1}/src/m${m}.js`);
  return `${deps.map((d, i) => `import { Model as Dep${i}, make as make${i} } from "${d}";`).join("\n")}
/** Module ${p}/${m}. */
export interface Options { readonly id: number; readonly name: string; readonly tags: readonly string[] }
export class Model {
  readonly id: number;
  readonly values = new Map<string, number>();
${deps.map((_, i) => `  readonly d${i}: Dep${i} = make${i}(${i});`).join("\n")}
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
export function make(id: number): Model {
  return new Model(id * ${p + 1} + ${m});
}
export const VALUE_${p}_${m}: number = ${m * 7 + p};
`;
}

function writeProject(root: string): string[] {
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
    for (let m = 0; m < MODULES; m++) {
      writeFileSync(join(root, `p${p}/src/m${m}.ts`), moduleText(p, m, ""));
      files.push(`p${p}/src/m${m}.ts`);
    }
  }
  return files;
}

interface Timed {
  ms: number;
  exitCode: number;
}

function oneShot(version: Version, root: string): Timed {
  rmSync(join(root, "out"), { recursive: true, force: true });
  const start = performance.now();
  const r = spawnSync(process.execPath, [join(COMPILERS[version], "lib", "tsc.js"), "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
  return { ms: performance.now() - start, exitCode: r.status ?? -1 };
}

/** worker-bridge as a Bazel JSON worker; requests carry sandbox_dir, inputs and digests. */
class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = "";
  private waiting: ((line: string) => void) | undefined;
  notes = "";

  constructor(cwd: string, version: Version) {
    this.child = spawn(process.execPath, [CLI, "--tool", "tsc", `--typescript=${COMPILERS[version]}`, "--protocol=json", "--concurrency=1", "--persistent_worker"], { cwd });
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
    this.child.stderr.resume();
  }

  async build(dir: string, files: readonly string[]): Promise<Timed> {
    rmSync(join(dir, "out"), { recursive: true, force: true });
    const inputs = files.map((path) => ({ path, digest: createHash("sha256").update(readFileSync(join(dir, path))).digest("hex") }));
    const request = { arguments: ["-p", "tsconfig.json"], inputs, requestId: 0, verbosity: 1, sandboxDir: dir };
    const start = performance.now();
    const line = await new Promise<string>((resolve) => {
      this.waiting = resolve;
      this.child.stdin.write(JSON.stringify(request) + "\n");
    });
    const ms = performance.now() - start;
    const response = JSON.parse(line) as { exitCode?: number; output?: string };
    this.notes = (response.output ?? "").split("\n").filter((l) => l.startsWith("worker-bridge: tsc: warm") || l.startsWith("worker-bridge: tsc: cold")).join("; ");
    return { ms, exitCode: response.exitCode ?? 0 };
  }

  close(): void {
    this.child.stdin.end();
    setTimeout(() => this.child.kill("SIGKILL"), 5000).unref();
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function benchVersion(version: Version): Promise<string[]> {
  const base = mkdtempSync(join(tmpdir(), "tsc-in-process-"));
  const root = join(base, "sandbox", "0", "_main");
  mkdirSync(root, { recursive: true });
  const files = writeProject(root);
  const bodyFile = `p${Math.floor(PACKAGES / 2)}/src/m${Math.floor(MODULES / 2)}.ts`;
  const [bp, bm] = [Math.floor(PACKAGES / 2), Math.floor(MODULES / 2)];
  const worker = new Worker(base, version);
  const rows: string[] = [];
  let sandbox = 0;
  try {
    await worker.build(root, files); // warm-up, unmeasured
    const scenarios: { name: string; apply(rep: number): void; newDir: boolean; expect: string }[] = [
      { name: "no change", apply: () => undefined, newDir: false, expect: "nothing changed" },
      { name: "one body edit", apply: (rep) => writeFileSync(join(root, bodyFile), moduleText(bp, bm, ` + ${rep + 1}`)), newDir: false, expect: "reusing" },
      {
        name: "one body edit, new sandbox directory",
        apply: (rep) => writeFileSync(join(root, bodyFile), moduleText(bp, bm, ` + ${rep + 100}`)),
        newDir: true,
        expect: "another directory",
      },
    ];
    for (const s of scenarios) {
      const cold: number[] = [];
      const warm: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        writeFileSync(join(root, bodyFile), moduleText(bp, bm, ""));
        await worker.build(root, files); // back to the baseline, unmeasured
        s.apply(rep);
        const c = oneShot(version, root);
        let dir = root;
        if (s.newDir) {
          // The previous sandbox is gone, as after every Bazel or remote action: move the project.
          dir = join(base, "sandbox", String(++sandbox), "_main");
          mkdirSync(dirname(dir), { recursive: true });
          renameSync(root, dir);
        }
        const w = await worker.build(dir, files);
        if (dir !== root) renameSync(dir, root);
        if (c.exitCode !== 0 || w.exitCode !== 0) throw new Error(`${version} ${s.name}: exit codes one-shot=${c.exitCode} warm=${w.exitCode}`);
        if (!worker.notes.includes(s.expect)) throw new Error(`${version} ${s.name}: the worker did not take the expected path (${s.expect}): ${worker.notes}`);
        cold.push(c.ms);
        warm.push(w.ms);
      }
      const pct = (100 * median(warm)) / median(cold);
      rows.push(`| ${version} | ${s.name} | ${median(cold).toFixed(0)} | ${median(warm).toFixed(0)} | **${pct.toFixed(1)} %** | ${(median(cold) / median(warm)).toFixed(1)}× |`);
    }
  } finally {
    worker.close();
    rmSync(base, { recursive: true, force: true });
  }
  return rows;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const version of Object.keys(COMPILERS) as Version[]) rows.push(...(await benchVersion(version)));
  process.stdout.write(
    [
      `## tsc 5.9/6.0: warm worker as a share of one-shot${quick ? " (--quick: smoke run, numbers not meaningful)" : ""}`,
      "",
      `${PACKAGES * MODULES} modules in ${PACKAGES} packages (strict, declaration, sourceMap), ${PACKAGES * MODULES * 3} outputs; median of ${REPS} alternating runs;`,
      `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()[0]!.toFixed(1)} at the end.`,
      "",
      "| compiler | situation | one-shot tsc (ms) | warm worker (ms) | warm / one-shot | speed-up |",
      "|---|---|---:|---:|---:|---:|",
      ...rows,
      "",
    ].join("\n"),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/tsc-in-process.ts: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
