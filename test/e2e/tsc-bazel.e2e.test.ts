// Issue 5 §10: bazel-demo/ts (22 interdependent ts_library targets) built by real Bazel through
// `worker-bridge --tool tsc` as a persistent worker, one-shot with --strategy=TsCompile=local, and
// with --worker_sandboxing: every output must be byte-identical, and a type error must be reported
// identically by the worker and one-shot.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO_ROOT } from "./bazel-runner.js";
import { BazelSession, describeExit, findBazel, type BazelRun } from "./support/bazel-session.js";
import { privateDemoWorkspace, type DemoWorkspace } from "./support/demo-workspace.js";

const bazel = findBazel();
const required = process.env.REQUIRE_BAZEL === "1";
if (bazel === undefined) {
  if (required) throw new Error("REQUIRE_BAZEL=1 but bazel is not on PATH (Debian: apt-get install bazel-bootstrap)");
  console.log("tsc-bazel e2e: skipped — bazel is not on PATH (set REQUIRE_BAZEL=1 to make this a failure)");
}
const LIBRARIES = 22;

// A private copy of the workspace (with its own copy of the bundle, and node_modules/typescript
// linked to this repository's), so the test can edit sources and a concurrent build cannot swap
// the bridge.
let demo: DemoWorkspace | undefined;
let workspace = "";
let session: BazelSession | undefined;

beforeAll(async () => {
  if (bazel === undefined) return;
  demo = await privateDemoWorkspace(REPO_ROOT);
  workspace = demo.dir;
  session = await BazelSession.create({ bazel, workspace, deadlineMs: 420_000 });
});

afterAll(async () => {
  await session?.dispose();
  demo?.dispose();
});

function snapshot(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) snapshot(p, base, out);
    else if (!e.name.endsWith(".params")) out.set(relative(base, p), readFileSync(p, "utf8"));
  }
  return out;
}

function mustSucceed(run: BazelRun, what: string): void {
  if (run.exitCode !== 0 || run.timedOut) throw new Error(`${what} failed (${describeExit(run)}):\n${run.stderr.slice(-6000)}`);
}

const diagnosticLines = (stderr: string) =>
  stderr.split("\n").filter((l) => /error TS\d+:/.test(l)).map((l) => l.trim()).sort();

test.skipIf(bazel === undefined)("22 TypeScript libraries: worker and one-shot builds are byte-identical", async () => {
  const s = session!;
  const bin = join(await s.info("bazel-bin"), "ts");

  const first = await s.build(["//ts/..."]);
  mustSucceed(first, "worker build");
  expect(first.processes.worker, first.stderr.slice(-3000)).toBe(LIBRARIES);
  const firstOutputs = snapshot(bin);
  expect(firstOutputs.size).toBe(LIBRARIES * 7); // tsconfig.json + 2 × (.js, .js.map, .d.ts)

  // An edit that keeps lib03's declarations: only lib03 is recompiled, by the warm worker.
  const util = join(workspace, "ts/lib03/util.ts");
  writeFileSync(util, readFileSync(util, "utf8").replace("`lib03#", "`lib03 edited #"));
  const edited = await s.build(["//ts/..."]);
  mustSucceed(edited, "worker build after an edit");
  expect(edited.processes.worker).toBeGreaterThanOrEqual(1);
  const workerOutputs = snapshot(bin);
  expect(workerOutputs.get("lib03/util.js")).toContain("lib03 edited #");

  mustSucceed(await s.run("clean"), "bazel clean");
  const local = await s.build(["//ts/..."], ["--strategy=TsCompile=local"]);
  mustSucceed(local, "one-shot build");
  expect(local.processes.worker ?? 0).toBe(0);
  const localOutputs = snapshot(bin);
  expect([...localOutputs.keys()].sort()).toEqual([...workerOutputs.keys()].sort());
  for (const [path, text] of localOutputs) expect(workerOutputs.get(path), path).toBe(text);

  // Sandboxed workers: the request's cwd is a per-worker sandbox of symlinks to the inputs.
  mustSucceed(await s.run("clean"), "bazel clean");
  const sandboxed = await s.build(["//ts/..."], ["--worker_sandboxing"]);
  mustSucceed(sandboxed, "sandboxed worker build");
  expect(sandboxed.processes.worker).toBe(LIBRARIES);
  const sandboxedOutputs = snapshot(bin);
  expect(Object.fromEntries(sandboxedOutputs)).toEqual(Object.fromEntries(localOutputs));

  // A type error: the same diagnostics, and a failed action, either way.
  const index = join(workspace, "ts/lib05/index.ts");
  writeFileSync(index, readFileSync(index, "utf8") + 'export const broken: number = "not a number";\n');
  const workerError = await s.build(["//ts/..."], ["--keep_going"]);
  expect(workerError.exitCode).not.toBe(0);
  mustSucceed(await s.run("clean"), "bazel clean");
  const localError = await s.build(["//ts/..."], ["--keep_going", "--strategy=TsCompile=local"]);
  expect(localError.exitCode).not.toBe(0);
  expect(diagnosticLines(workerError.stderr)).toEqual(diagnosticLines(localError.stderr));
  expect(diagnosticLines(workerError.stderr).join("\n")).toMatch(/ts\/lib05\/index\.ts\(\d+,\d+\): error TS2322/);
});
