// buck2-demo/ without a buck2 binary: reads the demo's targets and drives the two local modes
// through the fake-Buck2 harness exactly as Buck2 would run them (docs/protocol/buck2-worker.md
// §2, §6.2, §12, §13; docs/protocol/remote-executors.md §2.2 for the argfile rule).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { descendants, type ActionResult, type FakeBuck2 } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const DEMO = fileURLToPath(new URL("../../buck2-demo/", import.meta.url)).replace(/\/$/, "");

interface DemoTarget {
  name: string;
  text: string;
  args: string[];
}
interface DemoData {
  worker: { name: string; bridge: string; tool: string; concurrency: number | null };
  targets: DemoTarget[];
}

const data = JSON.parse(readFileSync(join(DEMO, "demo-targets.json"), "utf8")) as DemoData;
const read = (rel: string): string => readFileSync(join(DEMO, rel), "utf8");
/** A configuration hash of our own, so runs never collide and cleanup knows what is ours. */
const cfg = `cfg-${randomBytes(4).toString("hex")}`;
const pool = new HarnessPool();
const created: string[] = [];

afterAll(() => {
  pool.cleanup();
  for (const dir of created) rmSync(join(DEMO, dir), { recursive: true, force: true });
  for (const dir of ["buck-out/v2/gen/root", "buck-out/v2/gen", "buck-out/v2/tmp", "buck-out/v2", "buck-out"]) {
    const abs = join(DEMO, dir);
    if (existsSync(abs) && readdirSync(abs).length === 0) rmdirSync(abs);
  }
});

/** The rendered WorkerInfo.exe (= the fallback WorkerRunInfo.exe): project-relative launcher path. */
const workerExe = [data.worker.bridge, "--tool", data.worker.tool];

/** What `at_argfile` writes for a demo: one argument per line, output paths project-relative. */
function renderArgfile(target: DemoTarget): { argfile: string; output: string } {
  const dir = `buck-out/v2/gen/root/${cfg}/__${target.name}__`;
  mkdirSync(join(DEMO, dir), { recursive: true });
  const output = `${dir}/${target.name}.txt`;
  const argfile = `${dir}/demo.${target.name}.args`;
  const lines = [`--write=${output}=${target.text}`, "--env=WORKER_SOCKET", "--pid", ...target.args];
  writeFileSync(join(DEMO, argfile), `${lines.join("\n")}\n`);
  return { argfile, output };
}

function newHarness(): FakeBuck2 {
  // The launcher runs `node`; Buck2's daemon env would have it on PATH, NODE makes sure.
  const h = pool.create({ projectRoot: DEMO, inheritedEnv: { ...process.env, NODE: process.execPath } });
  created.push(`buck-out/v2/tmp/${h.traceId.slice(0, 8)}`);
  return h;
}

function success(r: ActionResult): string {
  if (r.kind !== "success") throw new Error(`demo action failed: ${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  return r.stderr;
}

created.push(`buck-out/v2/gen/root/${cfg}`);

describe("buck2-demo", () => {
  test("BUCK mirrors demo-targets.json: same worker and the same demo targets, args and texts", () => {
    const buck = read("BUCK");
    const demos = [...buck.matchAll(/demo\(\s*name = "([^"]+)",\s*text = "([^"]*)",\s*args = \[([^\]]*)\],\s*\)/g)].map((m) => ({
      name: m[1]!,
      text: m[2]!,
      args: [...m[3]!.matchAll(/"([^"]*)"/g)].map((a) => a[1]!),
    }));
    expect(demos).toEqual(data.targets);
    expect(buck.match(/demo\(/g)?.length).toBe(data.targets.length);
    const worker = /worker\(\s*name = "([^"]+)",\s*bridge = "\/\/tools:([^"]+)",\s*tool = "([^"]+)",\s*concurrency = (None|\d+),/.exec(buck);
    expect(worker).not.toBeNull();
    expect(worker![1]).toBe(data.worker.name);
    expect(`tools/${worker![2]}`).toBe(data.worker.bridge);
    expect(worker![3]).toBe(data.worker.tool);
    expect(worker![4] === "None" ? null : Number(worker![4])).toBe(data.worker.concurrency);
    expect(read("tools/BUCK")).toContain(`src = "${data.worker.bridge.replace("tools/", "")}"`);
    // The rule's fixed arguments, which this test renders into the argfile too.
    expect(read("defs.bzl")).toMatch(/format = "--write=\{\}=" \+ ctx\.attrs\.text\),\s*(#[^\n]*\n\s*)*"--env=WORKER_SOCKET",\s*"--pid",\s*ctx\.attrs\.args,/);
  });

  test("the demo declares the worker Buck2 needs: WorkerInfo with the Bazel-protocol flag, WorkerRunInfo with the same fallback, hidden launcher input (§12, remote §2.2)", () => {
    const defs = read("defs.bzl");
    expect(defs).toContain("supports_bazel_remote_persistent_worker_protocol = True");
    expect(defs).toMatch(/WorkerRunInfo\(\s*worker = worker\[WorkerInfo\],\s*exe = worker\[RunInfo\]\.args,\s*\)/);
    expect(defs).toContain("cmd_args(argfile, hidden = worker[RunInfo].args)");
    expect(defs).toContain('load("@prelude//utils:argfile.bzl", "at_argfile")');
  });

  test("four modes: .buckconfig variants select the four platforms with the right executor flags (§2, §12.4, remote §2.2)", () => {
    const modes: Record<string, { platform: string; persistent: string }> = {
      "no-workers": { platform: "local", persistent: "False" },
      "local-persistent-workers": { platform: "local-persistent-workers", persistent: "True" },
      remote: { platform: "remote", persistent: "False" },
      "remote-persistent-workers": { platform: "remote-persistent-workers", persistent: "True" },
    };
    const platforms = read("platforms/BUCK");
    for (const [mode, { platform, persistent }] of Object.entries(modes)) {
      expect(read(`.buckconfig.${mode}`)).toMatch(new RegExp(`execution_platforms = root//platforms:${platform}\\n`));
      const decl = new RegExp(`name = "${platform}",[^)]*use_persistent_workers = ${persistent},`);
      expect(platforms).toMatch(decl);
    }
    const defs = read("platforms/defs.bzl");
    expect(defs).toContain("use_bazel_protocol_remote_persistent_workers = ctx.attrs.use_persistent_workers");
    expect(defs).toContain('"recycle-runner": True');
  });

  test("local one-shot mode (no workers): each demo runs `<fallback exe> @argfile` as a Local action (§2, §13)", async () => {
    const buck2 = newHarness();
    const runs = data.targets.map((t) => ({ target: t, ...renderArgfile(t) }));
    const results = await Promise.all(
      runs.map((r) => buck2.runFallback(workerExe, { args: [`@${r.argfile}`], outputs: [r.output], name: r.target.name })),
    );
    const pids = new Set<string>();
    results.forEach((result, i) => {
      const { target, output } = runs[i]!;
      // One-shot prints the tool's output on stderr, newline-terminated.
      const lines = success(result).replace(/\n$/, "").split("\n");
      expect(result.executor).toBe("Local");
      expect(lines[0]).toBe("WORKER_SOCKET=");
      pids.add(lines[1]!);
      expect(lines.slice(2)).toEqual(expectedProbeLines(target));
      expect(readFileSync(join(DEMO, output), "utf8")).toBe(target.text);
    });
    expect(pids.size).toBe(data.targets.length); // one process per action
    await buck2.endCommand();
  });

  test("local persistent-worker mode: one worker-bridge per command, each demo one Execute with argv [@argfile] (§3, §6.2, §13)", async () => {
    const buck2 = newHarness();
    const worker = buck2.defineWorker({ exe: workerExe, ...(data.worker.concurrency !== null ? { concurrency: data.worker.concurrency } : {}) });
    const runs = data.targets.map((t) => ({ target: t, ...renderArgfile(t) }));
    const results = await Promise.all(runs.map((r) => buck2.runAction({ worker, args: [`@${r.argfile}`], outputs: [r.output], name: r.target.name })));
    const proc = buck2.worker(worker)!;
    const family = new Set([proc.pid!, ...descendants(proc.pid!)].map(String));
    results.forEach((result, i) => {
      const { target, output } = runs[i]!;
      const lines = success(result).split("\n");
      expect(lines[0]).toBe(`WORKER_SOCKET=${proc.dir.socketPath}`);
      expect(family.has(lines[1]!.replace("pid=", ""))).toBe(true);
      expect(lines.slice(2)).toEqual(expectedProbeLines(target));
      expect(readFileSync(join(DEMO, output), "utf8")).toBe(target.text);
    });
    expect(results.map((r) => r.executor).sort()).toEqual(["Worker", "Worker", "Worker", "WorkerInit"]);
    const report = await buck2.endCommand();
    expect(report.workers).toHaveLength(1);
  });
});

/** What probe prints for a demo's own args (the fixed ones are checked separately). */
function expectedProbeLines(target: DemoTarget): string[] {
  return target.args.flatMap((a) => {
    if (a.startsWith("--echo=")) return [a.slice("--echo=".length)];
    if (a === "--cwd") return [`cwd=${DEMO}`];
    return [];
  });
}
