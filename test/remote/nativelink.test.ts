// NativeLink profile (docs/protocol/remote-executors.md §6, §10.2, scenario §10.3 6).
import { describe, expect, it } from "vitest";
import { decodeWorkRequest, FrameReader } from "../support/bazel-client/index.js";
import { createExecutor as useExecutorNow, workerAction, type RemoteAction, type SentRequest } from "./emulator/index.js";
import { diagnostics, useExecutor } from "./support.js";

const ARGFILE = "bazel-out/k8-fastbuild/bin/req.args";

function probeAction(args: string[], startupArgs: string[] = []): RemoteAction {
  return workerAction("nativelink", {
    tool: "probe",
    startupArgs,
    argfile: { path: ARGFILE, args },
    inputs: { "src/in.txt": "input\n" },
    outputPaths: ["out/deep/a.txt"],
  });
}

describe("NativeLink (§6, §10.2 nativelink)", () => {
  const sent: SentRequest[] = [];
  const nl = useExecutor("nativelink", { onRequest: (s) => sent.push(s) });

  it("scenario 6: empty inputs and sandbox_dir = the action directory; the bridge reads the argfile and writes outputs under it", async () => {
    sent.length = 0;
    const result = await nl.execute(probeAction(["--cwd", "--echo=sandboxed", "--write=out/deep/a.txt=NL"]));
    expect(result.status.code).toBe("OK");
    expect(result.exitCode).toBe(0);
    const request = decodeWorkRequest(new FrameReader().push(sent[0]!.bytes)[0]!);
    expect(request.inputs).toEqual([]);
    expect(request.sandboxDir).toMatch(/\/actions\/d/);
    expect(request.arguments).toEqual([`@${ARGFILE}`]);
    const lines = diagnostics(result);
    expect(lines).toContain(`cwd=${request.sandboxDir}`);
    expect(lines).toContain("sandboxed");
    // Written under sandbox_dir, so collected from the action directory (the worker's own cwd is elsewhere).
    expect(result.outputFiles).toEqual({ "out/deep/a.txt": "NL" });
  });

  it("§6: the trigger is supports-workers=1 plus requires-worker-protocol; persistentWorkerKey alone runs one-shot", async () => {
    const action = probeAction(["--echo=one shot"]);
    const result = await nl.execute({ ...action, platform: [{ name: "persistentWorkerKey", value: "abc" }] });
    expect(result.execution.path).toBe("one-shot");
    expect(result.execution.argv).not.toContain("--persistent_worker");
    expect(diagnostics(result)).toEqual(["one shot"]);
  });

  it("§6: requires-worker-protocol=json speaks JSON to a bridge started with --protocol=json", async () => {
    const action = probeAction(["--echo=json", "--write=out/deep/a.txt=J"], ["--protocol=json"]);
    const result = await nl.execute({
      ...action,
      platform: [
        { name: "supports-workers", value: "1" },
        { name: "requires-worker-protocol", value: "json" },
      ],
    });
    expect(result.execution.path).toBe("persistent");
    expect(result.stderr).toBe("json");
    expect(result.outputFiles).toEqual({ "out/deep/a.txt": "J" });
  });

  it("scenario 6: a worker is recycled after 200 requests", async () => {
    const pids: (number | undefined)[] = [];
    for (let i = 0; i < 201; i++) {
      const r = await nl.execute(probeAction([`--echo=${i}`], ["--tools=1"]));
      expect(r.stderr).toBe(String(i));
      pids.push(r.execution.workerPid);
    }
    expect(new Set(pids.slice(0, 200)).size).toBe(1);
    expect(pids[200]).not.toBe(pids[0]);
  });

  it("§6: an idle worker is retired after the idle timeout (5 minutes in NativeLink; 2 s here)", async () => {
    const quick = useExecutorNow("nativelink", { idleTimeoutMs: 2_000 });
    try {
      const a = await quick.execute(probeAction(["--echo=a"]));
      const b = await quick.execute(probeAction(["--echo=b"]));
      expect(b.execution.workerPid).toBe(a.execution.workerPid);
      // The idle timer stops the worker: wait for that process to be gone, not for a guessed time.
      expect(await processGone(a.execution.workerPid!, 20_000)).toBe(true);
      const c = await quick.execute(probeAction(["--echo=c"]));
      expect(c.execution.workerStarted).toBe(true);
      expect(c.execution.workerPid).not.toBe(a.execution.workerPid);
    } finally {
      await quick.close();
    }
  });

  it("§6: up to 4 workers per key", async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => nl.execute(probeAction([`--echo=${i}`, "--sleep=1500"], ["--host=inline"]))));
    for (const r of results) expect(r.exitCode).toBe(0);
    expect(new Set(results.map((r) => r.execution.workerPid)).size).toBe(4);
  });
});

async function processGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
