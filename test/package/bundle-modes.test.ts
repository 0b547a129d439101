// Issue 11: the single-file build (dist/worker-bridge.mjs) in every mode, copied alone into an
// empty directory (no node_modules, no dist/ next to it), as a remote action's input root holds it:
// one-shot, Bazel worker (proto singleplex, JSON multiplex), Buck2 worker (gRPC on $WORKER_SOCKET).
// The default process host forks the bundle itself as the tool process; a user tool given by path
// still loads.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { killAllWorkers } from "../bazel/harness/fake-bazel.js";
import { startProbeWorker, stopCleanly } from "../bazel/harness/probe-worker.js";
import { descendants } from "../buck2/harness/index.js";
import { HarnessPool } from "../buck2/helpers.js";
import { REPO_ROOT } from "../support/paths.js";

let dir = "";
let bundle = "";
let userTool = "";
const pool = new HarnessPool();

beforeAll(() => {
  const built = join(REPO_ROOT, "dist", "worker-bridge.mjs");
  if (!existsSync(built)) throw new Error(`${built} is missing: run 'npm run build' first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), "worker-bridge-bundle-"));
  bundle = join(dir, "worker-bridge.mjs");
  copyFileSync(built, bundle);
  // A user tool that imports nothing: the brand is a registered symbol, shared with the bundle's copy.
  userTool = join(dir, "user-tool.mjs");
  writeFileSync(
    userTool,
    'export default { [Symbol.for("worker-bridge.tool")]: true, run(job) { return { exitCode: job.args.includes("--fail") ? 5 : 0, output: `user tool pid=${process.pid} args=${job.args.join(",")}` }; } };\n',
  );
});

afterEach(() => killAllWorkers());

afterAll(() => {
  pool.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function oneShot(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bundle, ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stderr: r.stderr ?? "" };
}

describe("dist/worker-bridge.mjs alone in an empty directory", () => {
  test("one-shot: @argfile expanded, the built-in probe runs in a forked tool process (the bundle itself), exit code passed on", () => {
    writeFileSync(join(dir, "req.args"), "--echo=bundle one-shot\n--pid\n--exit=4\n");
    const r = oneShot(["--tool", "probe", "@req.args"]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain("bundle one-shot");
    expect(r.stderr).toMatch(/pid=\d+/);
    const inline = oneShot(["--tool", "probe", "--host=inline", "--echo=inline"]);
    expect(inline.code, inline.stderr).toBe(0);
    expect(inline.stderr).toContain("inline");
  });

  test("one-shot: a user tool given by path loads, in the process host and inline", () => {
    for (const host of ["process", "inline"]) {
      const r = oneShot(["--tool", userTool, `--host=${host}`, "a", "--fail"]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain("user tool pid=");
      expect(r.stderr).toContain("args=a,--fail");
    }
  });

  test("Bazel worker, proto singleplex: requests are served by one tool process, a child of the bridge", async () => {
    const w = startProbeWorker("bazel-4.2.3-proto", { cli: bundle });
    const first = await w.request({ arguments: ["--echo=one", "--pid"] });
    const second = await w.request({ arguments: ["--echo=two", "--pid"] });
    expect(first.output).toMatch(/^one\npid=\d+/);
    const pid = /pid=(\d+)/.exec(first.output!)![1];
    expect(second.output).toContain(`pid=${pid}`);
    expect(Number(pid)).not.toBe(w.child.pid);
    expect(descendants(w.child.pid!)).toContain(Number(pid));
    await stopCleanly(w);
  });

  test("Bazel worker, --host=thread: the tool runs in a thread the bundle starts from itself, no child process", async () => {
    const w = startProbeWorker("bazel-4.2.3-proto", { cli: bundle, startup: ["--tool", "probe", "--host=thread"] });
    const first = await w.request({ arguments: ["--echo=thread", "--pid", "--stdout=printed"] });
    expect(first.exitCode, first.output).toBe(0);
    expect(first.output).toBe(`printed\nthread\npid=${w.child.pid}`);
    expect(descendants(w.child.pid!)).toEqual([]);
    await stopCleanly(w);
  });

  test("Bazel worker, JSON multiplex: concurrent requests answered by id; a user tool by path works too", async () => {
    const w = startProbeWorker("bazel-5+-json", { cli: bundle, multiplex: true });
    const rs = await Promise.all([1, 2, 3].map((id) => w.request({ requestId: id, arguments: [`--echo=m${id}`, "--sleep=100"] })));
    expect(rs.map((r) => r.output)).toEqual(["m1", "m2", "m3"]);
    await stopCleanly(w);

    const user = startProbeWorker("bazel-4.2.3-proto", { cli: bundle, startup: ["--tool", userTool] });
    const r = await user.request({ arguments: ["x"] });
    expect(r.output).toContain("args=x");
    await stopCleanly(user);
  });

  test("Buck2 worker: gRPC Execute on $WORKER_SOCKET, one bridge for the command", async () => {
    const buck2 = pool.create();
    const worker = buck2.defineWorker({ exe: [process.execPath, bundle, "--tool", "probe"] });
    const results = await Promise.all(["b1", "b2"].map((name) => buck2.runAction({ worker, args: [`--echo=${name}`, "--env=WORKER_SOCKET"], name })));
    const proc = buck2.worker(worker)!;
    for (const [i, result] of results.entries()) {
      expect(result.kind, JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? String(v) : v))).toBe("success");
      if (result.kind !== "success") continue;
      expect(result.stderr).toContain(`b${i + 1}`);
      expect(result.stderr).toContain(`WORKER_SOCKET=${proc.dir.socketPath}`);
    }
    const report = await buck2.endCommand();
    expect(report.workers).toHaveLength(1);
  });
});
