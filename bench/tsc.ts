// `node --import tsx bench/tsc.ts [--quick]`: one-shot `tsc` against the warm tsc worker on a
// generated project of 200+ modules, for three situations a build meets again and again — nothing
// changed, one file changed, a type error introduced. Both sides run alternately in the same run;
// the table shows medians and their ratio. Nothing here asserts speed (see bench/README-tsc.md).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");
const TSC5 = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TSC7 = join(ROOT, "node_modules", "typescript-7", "bin", "tsc");

const quick = process.argv.includes("--quick");
const unknown = process.argv.slice(2).filter((a) => a !== "--quick");
if (unknown.length > 0) {
  process.stderr.write(`bench/tsc.ts: unknown argument(s) ${unknown.join(" ")}; usage: bench/tsc.ts [--quick]\n`);
  process.exit(2);
}
const PACKAGES = quick ? 4 : 10;
const MODULES_PER_PACKAGE = quick ? 10 : 21;
const REPS = quick ? 2 : 5;

if (!existsSync(CLI)) {
  process.stderr.write(`bench/tsc.ts: ${CLI} not found; run \`npm run build\` first\n`);
  process.exit(2);
}

// ---- fixture -------------------------------------------------------------------------------

function moduleText(p: number, m: number, salt: string): string {
  const deps: string[] = [];
  if (m > 0) deps.push(`./m${m - 1}.js`);
  if (m > 1) deps.push(`./m${Math.floor(m / 2)}.js`);
  if (p > 0) deps.push(`../../p${p - 1}/src/m${m % MODULES_PER_PACKAGE}.js`);
  const imports = deps.map((d, i) => `import { Model as Dep${i}, make as make${i} } from "${d}";`).join("\n");
  const uses = deps.map((_, i) => `  readonly d${i}: Dep${i} = make${i}(${i});`).join("\n");
  return `${imports}
/** Module ${p}/${m}. */
export interface Options${salt} { readonly id: number; readonly name: string; readonly tags: readonly string[] }
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
    return sum + this.id;
  }
  describe(o: Options${salt}): string {
    return \`\${o.name}#\${o.id}:\${o.tags.join(",")}:\${this.total()}\`;
  }
}
export function make(id: number): Model {
  return new Model(id * ${p + 1} + ${m});
}
export const VALUE_${p}_${m} = ${m * 7 + p};
export type Pick${m}<T> = { [K in keyof T as K extends string ? \`get\${Capitalize<K>}\` : never]: () => T[K] };
export const picked: Pick${m}<{ name: string; size: number }> = { getName: () => "n", getSize: () => ${m} };
`;
}

function writeFixture(root: string): string[] {
  const files: string[] = [];
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
      writeFileSync(join(root, rel), moduleText(p, m, ""));
      files.push(rel);
    }
  }
  return files;
}

// ---- the two contenders --------------------------------------------------------------------

function oneShot(tsc: string, root: string): { ms: number; exitCode: number } {
  rmSync(join(root, "out"), { recursive: true, force: true });
  const start = performance.now();
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
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

  constructor(root: string) {
    this.child = spawn(process.execPath, [CLI, "--tool", "tsc", "--protocol=json", "--concurrency=1", "--persistent_worker"], { cwd: root });
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

  async build(root: string): Promise<{ ms: number; exitCode: number }> {
    rmSync(join(root, "out"), { recursive: true, force: true }); // as Bazel deletes outputs
    const request = { arguments: ["-p", "tsconfig.json"], inputs: [], requestId: 0, verbosity: 1 };
    const start = performance.now();
    const line = await new Promise<string>((resolve) => {
      this.waiting = resolve;
      this.child.stdin.write(JSON.stringify(request) + "\n");
    });
    const ms = performance.now() - start;
    const response = JSON.parse(line) as { exitCode?: number; output?: string };
    const heap = /max seen (\d+) MiB/.exec(response.output ?? "");
    if (heap) this.maxHeapMb = Math.max(this.maxHeapMb, Number(heap[1]));
    return { ms, exitCode: response.exitCode ?? 0 };
  }

  close(): void {
    this.closing = true;
    this.child.stdin.end();
    setTimeout(() => this.child.kill("SIGKILL"), 5000).unref();
  }
}

// ---- measurement ---------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Scenario {
  name: string;
  /** Puts the project in the state to measure; returns an undo for after the measurement. */
  apply(rep: number): () => void;
  expectExit: number;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "tsc-bench-"));
  const files = writeFixture(root);
  const target = files[Math.floor(files.length / 2)]!;
  const original = readFileSync(join(root, target), "utf8");
  const scenarios: Scenario[] = [
    { name: "no change", apply: () => () => undefined, expectExit: 0 },
    {
      name: "one file changed",
      apply: (rep) => {
        writeFileSync(join(root, target), original.replace(/export const VALUE_(\d+)_(\d+) = \d+;/, `export const VALUE_$1_$2 = ${1000 + rep};`));
        return () => writeFileSync(join(root, target), original);
      },
      expectExit: 0,
    },
    {
      name: "type error introduced",
      apply: (rep) => {
        writeFileSync(join(root, target), original + `export const broken${rep}: number = "not a number";\n`);
        return () => writeFileSync(join(root, target), original);
      },
      expectExit: 2,
    },
  ];

  const worker = new Worker(root);
  const first = await worker.build(root);
  const firstOneShot = oneShot(TSC5, root);
  const rows: string[] = [];
  const ratios: Record<string, number> = {};
  const native = existsSync(TSC7) && !quick;
  for (const s of scenarios) {
    const cold: number[] = [];
    const warm: number[] = [];
    const nat: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate the contenders so machine noise hits both alike; each sees the same project state.
      let undo = s.apply(rep);
      const c = oneShot(TSC5, root);
      undo();
      undo = s.apply(rep);
      const w = await worker.build(root);
      undo();
      // Bring the warm worker back to the baseline state, unmeasured, so every rep starts alike.
      if (s.name !== "no change") await worker.build(root);
      if (c.exitCode !== s.expectExit || w.exitCode !== s.expectExit) {
        throw new Error(`${s.name}: unexpected exit codes one-shot=${c.exitCode} warm=${w.exitCode} (expected ${s.expectExit})`);
      }
      cold.push(c.ms);
      warm.push(w.ms);
      if (native) {
        undo = s.apply(rep);
        nat.push(oneShot(TSC7, root).ms);
        undo();
      }
    }
    ratios[s.name] = median(cold) / median(warm);
    rows.push(
      `| ${s.name} | ${median(cold).toFixed(0)} | ${median(warm).toFixed(0)} | **${(median(cold) / median(warm)).toFixed(1)}×** |` +
        (native ? ` ${median(nat).toFixed(0)} |` : ""),
    );
  }
  worker.close();
  rmSync(root, { recursive: true, force: true });

  const header = native
    ? "| situation | one-shot tsc 5.9 (ms) | warm worker (ms) | ratio | one-shot tsc 7 native (ms) |\n|---|---:|---:|---:|---:|"
    : "| situation | one-shot tsc 5.9 (ms) | warm worker (ms) | ratio |\n|---|---:|---:|---:|";
  const out = [
    `## tsc: one-shot vs warm worker${quick ? " (--quick: smoke run, numbers not meaningful)" : ""}`,
    "",
    `${PACKAGES * MODULES_PER_PACKAGE} modules in ${PACKAGES} packages (strict, declaration, sourceMap); median of ${REPS} alternating runs;`,
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()[0]!.toFixed(1)} at the end.`,
    `The warm worker is worker-bridge as a Bazel JSON worker (process host) receiving one request per build, outputs deleted before each build.`,
    "",
    header,
    ...rows,
    "",
    `First build: worker ${first.ms.toFixed(0)} ms (cold, includes loading TypeScript), one-shot ${firstOneShot.ms.toFixed(0)} ms.`,
    `Largest heap reported by the tsc tool process: ${worker.maxHeapMb} MiB.`,
    "",
  ].join("\n");
  process.stdout.write(out);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/tsc.ts: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
