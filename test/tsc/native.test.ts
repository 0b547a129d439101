// The TypeScript 7 back end (src/tools/tsc/native/): warm through tsgo's incremental state in a
// persistent state directory. Every result is compared with a cold one-shot tsgo run in the
// request's own directory: same diagnostics text, exit code and output bytes.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, symlinkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { ToolInput } from "../../src/tool-api/define-tool.js";
import { createTscState, runTsc, type TscState } from "../../src/tools/tsc/index.js";
import { nativeCompilerPath, resolveTypeScript } from "../../src/tools/tsc/resolve-typescript.js";
import { FixtureProject, rng } from "./fixture-model.js";
import { listFiles, TS_DIRS } from "./harness.js";

const TS7 = TS_DIRS["7"];
const EXE = nativeCompilerPath(resolveTypeScript(TS7, TS7, TS7));
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

interface Run {
  exitCode: number;
  output: string;
  files: Map<string, string>;
}

function outputsOf(cwd: string, outDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const [p, c] of listFiles(join(cwd, outDir))) files.set(relative(cwd, p), c);
  return files;
}

/** The reference: tsgo one-shot in the request directory, outputs deleted first. */
function coldTsgo(cwd: string, args: readonly string[], outDir = "out"): Run {
  rmSync(join(cwd, outDir), { recursive: true, force: true });
  const r = spawnSync(EXE, args, { cwd, encoding: "utf8" });
  return { exitCode: r.status ?? -1, output: r.stdout + r.stderr, files: outputsOf(cwd, outDir) };
}

interface Tool {
  state: TscState;
  logs: string[];
  stateDir: string;
}

function tool(extra: readonly string[] = []): Tool {
  const logs: string[] = [];
  const stateDir = temp("tsc7-state-");
  const state = createTscState([`--typescript=${TS7}`, `--state-dir=${stateDir}`, ...extra], (l) => logs.push(l));
  return { state, logs, stateDir };
}

/** Runs the tool like a build system: outputs deleted first. `notes` are its verbose lines. */
async function warm(t: Tool, cwd: string, args: readonly string[], inputs: readonly ToolInput[], signal = new AbortController().signal, outDir = "out") {
  rmSync(join(cwd, outDir), { recursive: true, force: true });
  const r = await runTsc(t.state, { id: 0, args, inputs, cwd, env: { ...process.env } as Record<string, string>, verbosity: 1 }, signal);
  const all = r.output ?? "";
  const lines = all.split("\n");
  const output = lines.filter((l) => !l.startsWith("worker-bridge: tsc: ")).join("\n");
  const notes = lines.filter((l) => l.startsWith("worker-bridge: tsc: ")).join("\n");
  return { exitCode: r.exitCode, output, notes, files: outputsOf(cwd, outDir) };
}

function expectSame(w: Run, c: Run, context: string): void {
  expect(w.output, context).toBe(c.output);
  expect(w.exitCode, context).toBe(c.exitCode);
  expect([...w.files.keys()].sort(), context).toEqual([...c.files.keys()].sort());
  for (const [p, text] of c.files) expect(w.files.get(p), `${context}: ${p}`).toBe(text);
}

const TSCONFIG = JSON.stringify({
  compilerOptions: { module: "nodenext", target: "es2022", lib: ["es2022"], types: [], strict: true, declaration: true, sourceMap: true, declarationMap: true, outDir: "out", rootDir: "." },
  include: ["src"],
});

function smallProject(root: string): string[] {
  const files: Record<string, string> = {
    "tsconfig.json": TSCONFIG,
    "src/a.ts": `export const a: number = 1;\nexport function f(x: number): number {\n  return x + a;\n}\n`,
    "src/b.ts": `import { f } from "./a.js";\nexport const b = f(2);\n`,
    "src/c.ts": `import { b } from "./b.js";\nexport class C {\n  value = b;\n}\n`,
  };
  for (const [p, t] of Object.entries(files)) {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), t);
  }
  return Object.keys(files);
}

/** The pid of a tsgo process whose command line mentions `needle` (Linux: /proc). */
function tsgoProcessUsing(needle: string): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmdline.startsWith(EXE) && cmdline.includes(needle) && cmdline.includes("--tsBuildInfoFile")) return Number(name);
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

/** A project big enough that tsgo is still compiling when a poll every few ms sees it. */
function chainProject(root: string): string[] {
  const paths = ["tsconfig.json"];
  writeFileSync(join(root, "tsconfig.json"), TSCONFIG);
  mkdirSync(join(root, "src"));
  for (let i = 0; i < 300; i++) {
    const p = `src/m${i}.ts`;
    const dep = i > 0 ? `import { v${i - 1} } from "./m${i - 1}.js";\n` : "";
    writeFileSync(join(root, p), `${dep}export const v${i}: number = ${i > 0 ? `v${i - 1} + ` : ""}${i};\nexport class K${i}<T> { constructor(readonly t: T) {} map<U>(f: (t: T) => U): K${i}<U> { return new K${i}(f(this.t)); } }\n`);
    paths.push(p);
  }
  return paths;
}

/** The pid of a plain tsgo process (not the warm path's) compiling in `dir` (Linux: /proc). */
function plainTsgoIn(dir: string): number | undefined {
  const real = realpathSync(dir);
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (!cmdline.startsWith(EXE) || cmdline.includes("--showConfig") || cmdline.includes("--tsBuildInfoFile")) continue;
      if (readlinkSync(`/proc/${name}/cwd`) === real) return Number(name);
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

if (process.platform !== "linux") console.log("native.test.ts: the cancellation test finds the tsgo process through /proc; skipped on " + process.platform);

const inputsOf = (paths: readonly string[]): ToolInput[] => paths.map((path) => ({ path, digest: new Uint8Array() }));
const ARGS = ["-p", "tsconfig.json"];

describe("TypeScript 7 back end", () => {
  test("stays warm when the request directory changes, restores deleted outputs, never leaks the mirror", async () => {
    const t = tool();
    const a = temp("tsc7-dir-a-");
    const paths = smallProject(a);
    const first = await warm(t, a, ARGS, inputsOf(paths));
    expect(first.notes).toContain("cold:");
    expectSame(first, coldTsgo(a, ARGS), "first build");

    // A new sandbox: same inputs, another directory.
    const b = temp("tsc7-dir-b-");
    cpSync(a, b, { recursive: true, filter: (src) => !src.includes("/out") });
    writeFileSync(join(b, "src/c.ts"), `import { b } from "./b.js";\nexport class C {\n  value = b + 1;\n}\n`);
    const second = await warm(t, b, ARGS, inputsOf(paths));
    expect(second.notes).toContain("warm:");
    expect(second.notes).toMatch(/emitted [1-9]/);
    expectSame(second, coldTsgo(b, ARGS), "after moving to another directory");

    // Outputs deleted (as Bazel does) and nothing changed: everything is written again.
    const third = await warm(t, b, ARGS, inputsOf(paths));
    expect(third.notes).toContain("warm: tsgo emitted 0 file(s)");
    expect(third.files.size).toBe(12);
    expectSame(third, coldTsgo(b, ARGS), "no change, outputs deleted");

    for (const [p, text] of third.files) {
      expect(text, p).not.toContain(t.stateDir);
      if (p.endsWith(".map")) {
        const map = JSON.parse(text) as { sources: string[]; sourceRoot?: string };
        expect(map.sourceRoot ?? "").toBe("");
        for (const s of map.sources) expect(s.startsWith("../../src/"), `${p}: ${s}`).toBe(true);
      }
    }
    expect(t.logs).toEqual([]);
  });

  test("without declared inputs it compiles in place and stays warm", async () => {
    const t = tool();
    const a = temp("tsc7-inplace-");
    smallProject(a);
    const first = await warm(t, a, ARGS, []);
    expect(first.notes).toContain("cold:");
    expectSame(first, coldTsgo(a, ARGS), "first");
    writeFileSync(join(a, "src/a.ts"), `export const a: number = 2;\nexport function f(x: number): string {\n  return String(x + a);\n}\n`);
    const second = await warm(t, a, ARGS, []);
    expect(second.notes).toContain("warm:");
    expect(second.exitCode).toBe(0);
    expectSame(second, coldTsgo(a, ARGS), "exported API changed");
    const third = await warm(t, a, ARGS, []);
    expect(third.notes).toContain("warm: tsgo emitted 0 file(s)");
    expectSame(third, coldTsgo(a, ARGS), "no change");
  });

  test("a request directory reached through a symlink stays warm", async () => {
    const t = tool();
    const real = temp("tsc7-real-");
    smallProject(real);
    const link = join(temp("tsc7-link-"), "project");
    symlinkSync(real, link);
    const first = await warm(t, link, ARGS, []);
    expectSame(first, coldTsgo(link, ARGS), "first, through the symlink");
    const second = await warm(t, link, ARGS, []);
    expect(second.notes).toContain("warm: tsgo emitted 0 file(s)");
    expectSame(second, coldTsgo(link, ARGS), "second, through the symlink");
  });

  test("a corrupt or foreign entry, or an interrupted run, means one log line and a cold, correct compile", async () => {
    const t = tool();
    const a = temp("tsc7-corrupt-");
    const paths = smallProject(a);
    await warm(t, a, ARGS, inputsOf(paths));
    const targetsDir = join(t.stateDir, "v1", "targets");
    const [entry] = readdirSync(targetsDir);
    const dir = join(targetsDir, entry!);

    writeFileSync(join(dir, "meta.json"), "{ not json");
    let r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toContain("cold:");
    expectSame(r, coldTsgo(a, ARGS), "after a corrupt record");
    expect(t.logs).toHaveLength(1);
    expect(t.logs[0]).toMatch(/discarded .* record cannot be read/);

    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ ...meta, key: "another target" }));
    r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toContain("cold:");
    expect(t.logs).toHaveLength(2);
    expect(t.logs[1]).toMatch(/belongs to another target/);

    writeFileSync(join(dir, "build.tsbuildinfo"), "garbage");
    r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toContain("cold:");
    expectSame(r, coldTsgo(a, ARGS), "after a corrupt .tsbuildinfo");
    expect(t.logs[2]).toMatch(/tsbuildinfo is missing or unreadable/);

    // A run that never finished leaves its lock behind, naming a process that no longer exists.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(dir, "lock"), JSON.stringify({ pid: Number(dead.stdout) }));
    r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toContain("cold:");
    expectSame(r, coldTsgo(a, ARGS), "after an interrupted run");
    expect(t.logs[3]).toMatch(/previous run was interrupted/);
    expect(t.logs).toHaveLength(4);

    // A live process holding the lock: this request runs cold as a plain process, state untouched.
    writeFileSync(join(dir, "lock"), JSON.stringify({ pid: process.ppid }));
    r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toMatch(/cold as a process \(target is being compiled by process/);
    expectSame(r, coldTsgo(a, ARGS), "while another process holds the target");
    rmSync(join(dir, "lock"));
    r = await warm(t, a, ARGS, inputsOf(paths));
    expect(r.notes).toContain("warm:");
  });

  test("the state directory is bounded: least recently used targets are evicted", async () => {
    const t = tool();
    const targetsDir = join(t.stateDir, "v1", "targets");
    const roots: string[] = [];
    let bound: string[] = [];
    for (let i = 0; i < 3; i++) {
      const root = temp(`tsc7-lru-${i}-`);
      smallProject(root);
      roots.push(root);
      await warm(t, root, [...ARGS, ...bound], []);
      if (i === 0) {
        // Room for one and a half targets of this size.
        const [entry] = readdirSync(targetsDir);
        const { bytes } = JSON.parse(readFileSync(join(targetsDir, entry!, "usage.json"), "utf8")) as { bytes: number };
        expect(bytes).toBeGreaterThan(0);
        bound = [`--state-max-mb=${(bytes * 1.5) / 2 ** 20}`];
      }
    }
    expect(readdirSync(targetsDir)).toHaveLength(1);
    // The most recent target survives and is warm; the first one was evicted and is cold again.
    expect((await warm(t, roots[2]!, [...ARGS, ...bound], [])).notes).toContain("warm:");
    const again = await warm(t, roots[0]!, [...ARGS, ...bound], []);
    expect(again.notes).toContain("cold:");
    expectSame(again, coldTsgo(roots[0]!, ARGS), "after eviction");
    expect(readdirSync(targetsDir)).toHaveLength(1);
  });

  test.skipIf(process.platform !== "linux")("a request cancelled mid-compile kills tsgo; the next request is cold and correct", async () => {
    const t = tool();
    const root = temp("tsc7-cancel-");
    const paths = chainProject(root);
    const controller = new AbortController();
    const targetsDir = join(t.stateDir, "v1", "targets");
    // Abort once tsgo is running: its command line names the target's .tsbuildinfo in our state dir.
    let tsgoPid: number | undefined;
    const watcher = setInterval(() => {
      tsgoPid = tsgoProcessUsing(t.stateDir);
      if (tsgoPid !== undefined) {
        clearInterval(watcher);
        controller.abort();
      }
    }, 2);
    const cancelled = await warm(t, root, ARGS, inputsOf(paths), controller.signal);
    clearInterval(watcher);
    expect(tsgoPid, "tsgo was seen running").toBeDefined();
    expect(existsSync(`/proc/${tsgoPid}`), "tsgo is gone once the request has answered").toBe(false);
    expect(cancelled.exitCode).toBe(1);
    expect(cancelled.output).toContain("tsc was cancelled");
    expect(readdirSync(targetsDir)).toEqual([]);
    writeFileSync(join(root, "src/m5.ts"), readFileSync(join(root, "src/m5.ts"), "utf8") + `export const extra: string = 5;\n`);
    const next = await warm(t, root, ARGS, inputsOf(paths));
    expect(next.notes).toContain("cold:");
    expect(next.exitCode).toBe(2);
    expectSame(next, coldTsgo(root, ARGS), "after cancellation");
    expect(t.logs).toEqual([]);
  });

  test.skipIf(process.platform !== "linux")("a cancelled plain tsgo process is gone before the answer: nothing writes into out/ afterwards", async () => {
    // --incremental makes the request a plain tsgo process in the request directory itself.
    const t = tool();
    const root = temp("tsc7-cancel-plain-");
    const paths = chainProject(root);
    const args = [...ARGS, "--incremental"];
    const controller = new AbortController();
    let pid: number | undefined;
    const watcher = setInterval(() => {
      pid = plainTsgoIn(root);
      if (pid !== undefined) {
        clearInterval(watcher);
        controller.abort();
      }
    }, 2);
    const cancelled = await warm(t, root, args, inputsOf(paths), controller.signal);
    // Checked before anything else can run: the answer came after the process was reaped.
    const alive = pid !== undefined && existsSync(`/proc/${pid}`);
    clearInterval(watcher);
    expect(pid, "the plain tsgo process was seen running").toBeDefined();
    expect(alive, "tsgo is gone once the request has answered").toBe(false);
    expect(cancelled.exitCode).toBe(1);
    expect(cancelled.output).toContain("tsc was cancelled");
    // What a build system does next: delete the outputs (ENOTEMPTY if tsgo were still writing), run again.
    rmSync(join(root, "out"), { recursive: true, force: true });
    const next = await warm(t, root, args, inputsOf(paths));
    expectSame(next, coldTsgo(root, args), "after a cancelled plain tsgo");
  });

  test("a request cancelled while its configuration is read answers \"cancelled\" without compiling", async () => {
    const t = tool();
    const root = temp("tsc7-cancel-early-");
    const paths = smallProject(root);
    const controller = new AbortController();
    setImmediate(() => controller.abort());
    const r = await warm(t, root, ARGS, inputsOf(paths), controller.signal);
    expect(r.exitCode).toBe(1);
    expect(r.output).toContain("tsc was cancelled");
    expect(r.notes).not.toMatch(/cold as a process/);
    expect(r.files.size).toBe(0);
  });

  test("projects with their own incremental state, and printing modes, run as a plain tsgo process", async () => {
    const t = tool();
    const root = temp("tsc7-plain-");
    const paths = smallProject(root);
    const args = [...ARGS, "--incremental"];
    const r = await warm(t, root, args, inputsOf(paths));
    expect(r.notes).toMatch(/cold as a process \(incremental\)/);
    const c = coldTsgo(root, args);
    expect([...r.files.keys()]).toContain("out/tsconfig.tsbuildinfo");
    expectSame(r, c, "--incremental");
    const v = await warm(t, root, ["--version"], []);
    expect(v.output).toMatch(/^Version 7\./);
    expect(v.notes).toMatch(/cold as a process \(--version\)/);
  });

  test("--tsgo-threads is validated and tsgo's answers do not depend on it", async () => {
    expect(() => tool(["--tsgo-threads=0"])).toThrow(/--tsgo-threads expects a whole number/);
    const bad = await runTsc(tool().state, { id: 0, args: [...ARGS, "--tsgo-threads=x"], inputs: [], cwd: tmpdir(), env: {}, verbosity: 0 }, new AbortController().signal);
    expect(bad).toEqual({ exitCode: 1, output: expect.stringContaining("--tsgo-threads expects") as unknown as string });
    const root = temp("tsc7-threads-");
    writeFileSync(join(root, "tsconfig.json"), TSCONFIG);
    mkdirSync(join(root, "src"));
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `src/e${i}.ts`), `export const e${i}: string = ${i};\nexport const f${i}: number = "x";\n`);
    const cold = coldTsgo(root, ARGS);
    for (const threads of ["1", "3"]) {
      const r = await warm(tool([`--tsgo-threads=${threads}`]), root, ARGS, []);
      expectSame(r, cold, `--tsgo-threads=${threads}`);
    }
  });

  const STEPS = Number(process.env.TSC7_EQ_STEPS ?? 60);
  const SEED = process.env.TSC7_EQ_SEED !== undefined ? Number(process.env.TSC7_EQ_SEED) : Math.floor(Math.random() * 2 ** 31);
  test(`random walk: warm TypeScript 7 equals cold tsgo over ${STEPS} steps, moving between directories (seed ${SEED})`, async () => {
    const t = tool();
    const root = temp("tsc7-walk-");
    temps.push(`${root}-external`); // the model's directory for dependencies reached through a symlink
    const random = rng(SEED);
    const project = new FixtureProject(root, random);
    project.sync();
    const history: string[] = [];
    let withInputs = true;
    for (let step = 0; step <= STEPS; step++) {
      const what = step === 0 ? "initial build" : project.step();
      project.sync();
      if (random() < 0.15) withInputs = !withInputs;
      // Now and then the request comes from a fresh directory (a new sandbox) holding the same files.
      let cwd = root;
      if (withInputs && random() < 0.3) {
        cwd = temp("tsc7-walk-sandbox-");
        cpSync(root, cwd, { recursive: true, filter: (src) => !src.startsWith(join(root, "out")) });
      }
      history.push(`${step}: ${what} | ${withInputs ? "inputs" : "no inputs"}${cwd === root ? "" : " | new directory"}`);
      const w = await warm(t, cwd, ARGS, withInputs ? project.inputs() : []);
      const c = coldTsgo(cwd, ARGS);
      expectSame(w, c, `seed ${SEED} (replay with TSC7_EQ_SEED=${SEED}), step ${step}\n${history.slice(-8).join("\n")}\n${w.notes}`);
      if (cwd !== root) rmSync(cwd, { recursive: true, force: true });
    }
    console.log(`tsc TypeScript 7 walk: seed ${SEED}, ${STEPS} steps, log lines: ${t.logs.length}`);
  }, 240_000);
});
