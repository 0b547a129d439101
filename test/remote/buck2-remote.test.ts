// Buck2's remote encoding (docs/protocol/remote-executors.md §2.2, §10.1 `buck2` shape) applied to
// buck2-demo's remote platforms, run through the BuildBuddy and no-support profiles (issue 6
// item 3), plus the input-root caveat (scenario §10.3 8).
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { BUCK2_REMOTE_ARGFILE_ERROR, buck2RemoteCommand, buck2WorkerKey, runnerImageEnv, type ActionResult } from "./emulator/index.js";
import { demoAction, loadDemo, loadRemoteExecutionProperties, type DemoTarget } from "./buck2-demo-actions.js";
import { diagnostics, pidOf, useExecutor } from "./support.js";

const demo = loadDemo();
// The runner image: node plus `worker-bridge` on PATH (the demo launcher's last fallback).
const image = runnerImageEnv();
afterAll(() => rmSync(image.dir, { recursive: true, force: true }));

describe("Buck2's REAPI Command for remote persistent workers (§2.2)", () => {
  it("argument rule: an action arg without the @, -flagfile or --flagfile prefix fails with Buck2's message", () => {
    const base = { workerExe: ["w"], remoteExecutionProperties: {}, toolFiles: [] };
    expect(() => buck2RemoteCommand({ ...base, actionArgs: ["@a.args", "--pid"] })).toThrow(BUCK2_REMOTE_ARGFILE_ERROR);
    expect(BUCK2_REMOTE_ARGFILE_ERROR).toBe("Remote persistent worker arguments must be passed as `@argfile`, `-flagfile=argfile`, or `--flagfile=argfile`.");
    // Buck2 checks the prefix only: no `=` needed.
    expect(buck2RemoteCommand({ ...base, actionArgs: ["@a", "-flagfile", "--flagfileX"] }).arguments).toEqual(["w", "@a", "-flagfile", "--flagfileX"]);
  });

  it("persistentWorkerKey is <hex>:<size> of the compact JSON manifest of the tool files", () => {
    const { key, manifest } = buck2WorkerKey([{ path: "tools/worker-bridge", content: "#!/bin/sh\n" }]);
    const fileHash = createHash("sha256").update("#!/bin/sh\n").digest("hex");
    expect(manifest).toBe(`{"version":1,"digests":[{"path":"tools/worker-bridge","digest":"${fileHash}:10"}]}`);
    expect(key).toBe(`${createHash("sha256").update(manifest).digest("hex")}:${Buffer.byteLength(manifest)}`);
  });

  it("the manifest walks the tool's directory depth-first with entries sorted by name at each level", () => {
    const { manifest } = buck2WorkerKey([
      { path: "t/a.txt", content: "1" },
      { path: "t/b", content: "2" },
      { path: "t/a/z", content: "3" },
    ]);
    // Directory `a` sorts before file `a.txt` (a plain path sort would put `t/a.txt` first).
    expect((JSON.parse(manifest) as { digests: { path: string }[] }).digests.map((d) => d.path)).toEqual(["t/a/z", "t/a.txt", "t/b"]);
  });

  it("buck2-demo's remote-persistent platform: WorkerInfo.exe + @argfile, sorted Starlark-stringified properties, key appended last", () => {
    const target = demo.targets[0]!;
    const { action, argfile } = demoAction(target, { persistent: true });
    expect(action.arguments).toEqual([demo.worker.bridge, "--tool", demo.worker.tool, `@${argfile}`]);
    const props = loadRemoteExecutionProperties();
    expect(props["recycle-runner"]).toBe(true);
    const names = action.platform.map((p) => p.name);
    expect(names.at(-1)).toBe("persistentWorkerKey");
    expect(names.slice(0, -1)).toEqual(Object.keys(props).sort());
    expect(action.platform.find((p) => p.name === "recycle-runner")?.value).toBe("True");
    expect(action.platform.at(-1)!.value).toMatch(/^[0-9a-f]{64}:\d+$/);
    // No protocol property, no bazel_tool_input marks.
    expect(names).not.toContain("persistentWorkerProtocol");
    expect(Object.values(action.inputRoot).some((f) => typeof f !== "string" && f.toolInput === true)).toBe(false);
  });
});

function expectDemoOutput(target: DemoTarget, output: string, result: ActionResult): void {
  expect({ target: target.name, status: result.status.code, exitCode: result.exitCode }).toEqual({ target: target.name, status: "OK", exitCode: 0 });
  expect(result.outputFiles).toEqual({ [output]: target.text });
  const lines = diagnostics(result);
  // Not a local Buck2 worker: no WORKER_SOCKET, whatever the remote mode.
  expect(lines[0]).toBe("WORKER_SOCKET=");
  expect(lines[1]).toMatch(/^pid=\d+$/);
  for (const arg of target.args) if (arg.startsWith("--echo=")) expect(lines).toContain(arg.slice("--echo=".length));
}

describe("buck2-demo, remote persistent mode on BuildBuddy", () => {
  const bb = useExecutor("buildbuddy-proto", { baseEnv: image.env });

  it("every demo target produces its output, all from one warm worker started as WorkerInfo.exe --persistent_worker", async () => {
    const results: ActionResult[] = [];
    for (const target of demo.targets) {
      const { action, output } = demoAction(target, { persistent: true });
      const result = await bb.execute(action);
      expectDemoOutput(target, output, result);
      results.push(result);
    }
    expect(results[0]!.execution.argv).toEqual([demo.worker.bridge, "--tool", demo.worker.tool, "--persistent_worker"]);
    expect(results.map((r) => r.execution.workerStarted)).toEqual(demo.targets.map((_, i) => i === 0));
    expect(new Set(results.map((r) => pidOf(r))).size).toBe(1);
  });

  it("scenario 8: with the launcher missing from the input root the action fails visibly (no host file is used)", async () => {
    const target = demo.targets[0]!;
    const { action } = demoAction(target, { persistent: true, launcherInInputs: false });
    // A different RunnerKey than the test above, so no warm worker can mask the missing file.
    const result = await bb.execute({ ...action, platform: [...action.platform.slice(0, -1), { name: "persistentWorkerKey", value: "caveat" }] });
    expect(result.status.code).toBe("UNAVAILABLE");
    expect(result.status.message).toMatch(/tools\/worker-bridge.*ENOENT/);
    expect(result.outputFiles).toEqual({});
  });
});

describe("buck2-demo, remote one-shot mode", () => {
  const bb = useExecutor("buildbuddy-proto", { baseEnv: image.env });
  const plain = useExecutor("plain", { baseEnv: image.env });

  for (const [name, executor] of [
    ["BuildBuddy (recycle-runner, no key)", bb],
    ["a plain REAPI executor", plain],
  ] as const) {
    it(`the remote platform's fallback command runs one-shot on ${name}`, async () => {
      const pids: number[] = [];
      for (const target of demo.targets) {
        const { action, output, argfile } = demoAction(target, { persistent: false });
        expect(action.platform.map((p) => p.name)).not.toContain("persistentWorkerKey");
        const result = await executor.execute(action);
        expect(result.execution.path).toBe("one-shot");
        expect(result.execution.argv).toEqual([demo.worker.bridge, "--tool", demo.worker.tool, `@${argfile}`]);
        expectDemoOutput(target, output, result);
        pids.push(pidOf(result));
      }
      expect(new Set(pids).size).toBe(demo.targets.length);
    });
  }
});

describe("buck2-demo's persistent encoding on executors without worker support (the automatic fallback)", () => {
  const plain = useExecutor("plain", { baseEnv: image.env });
  const bbStatic = useExecutor("buildbarn", { baseEnv: image.env, platformKeyExtractor: "static" });
  const bbAction = useExecutor("buildbarn", { baseEnv: image.env, platformQueueWithNoWorkersTimeoutMs: 200 });
  const buildfarm = useExecutor("buildfarm", { baseEnv: image.env });

  it("plain and Buildbarn (static extractor) run WorkerInfo.exe @argfile one-shot with the expected outputs", async () => {
    for (const executor of [plain, bbStatic]) {
      for (const target of demo.targets.slice(0, 2)) {
        const { action, output } = demoAction(target, { persistent: true });
        const result = await executor.execute(action);
        expect(result.execution.path).toBe("one-shot");
        expect(result.execution.argv).not.toContain("--persistent_worker");
        expectDemoOutput(target, output, result);
      }
    }
  });

  it("Buildbarn with the default action extractor never runs it (persistentWorkerKey matches no runner)", async () => {
    const { action } = demoAction(demo.targets[0]!, { persistent: true });
    const result = await bbAction.execute(action);
    expect(result.status.code).toBe("FAILED_PRECONDITION");
    expect(result.status.message).toContain("persistentWorkerKey");
  });

  it("Buildfarm cannot locate a relative worker exe without bazel_tool_input marks (§5: Buck2 sets none)", async () => {
    const { action } = demoAction(demo.targets[0]!, { persistent: true });
    const result = await buildfarm.execute(action);
    expect(result.exitCode).toBe(-1);
    expect(result.stdout).toMatch(/IllegalArgumentException.*tools\/worker-bridge/);
  });

  it("scenario 8 (one-shot): a missing launcher fails to start instead of falling back to the host's copy", async () => {
    const { action } = demoAction(demo.targets[0]!, { persistent: true, launcherInInputs: false });
    const result = await plain.execute(action);
    expect(result.status.code).not.toBe("OK");
    expect(result.status.message).toMatch(/tools\/worker-bridge.*ENOENT/);
  });
});
