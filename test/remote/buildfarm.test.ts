// Buildfarm profile (docs/protocol/remote-executors.md §5, §10.2, scenario §10.3 5).
import { describe, expect, it } from "vitest";
import { decodeWorkRequest, FrameReader } from "../support/bazel-client/index.js";
import { bridgeWorker, workerAction, type RemoteAction, type SentRequest } from "./emulator/index.js";
import { diagnostics, useExecutor } from "./support.js";

const ARGFILE = "bazel-out/k8-fastbuild/bin/pkg/req.args";

function probeAction(args: string[], startupArgs: string[] = []): RemoteAction {
  return workerAction("buildfarm", {
    tool: "probe",
    startupArgs,
    argfile: { path: ARGFILE, args },
    inputs: { "pkg/src.txt": "source\n" },
    outputPaths: ["out/a.txt"],
  });
}

describe("Buildfarm (§5, §10.2 buildfarm)", () => {
  const sent: SentRequest[] = [];
  const bf = useExecutor("buildfarm", { onRequest: (s) => sent.push(s) });

  it("scenario 5: the @argfile arrives unexpanded and the bridge resolves it relative to the worker's private exec root", async () => {
    sent.length = 0;
    const result = await bf.execute(probeAction(["--cwd", "--echo=from argfile", "--write=out/a.txt=BF"]));
    expect(result.status.code).toBe("OK");
    expect(result.exitCode).toBe(0);
    const body = new FrameReader().push(sent[0]!.bytes)[0]!;
    const request = decodeWorkRequest(body);
    expect(request.arguments).toEqual([`@${ARGFILE}`]);
    expect(request.requestId).toBe(0);
    const lines = diagnostics(result);
    expect(lines).toContain("from argfile");
    // The worker runs in /tmp/worker/persistent/<key>/<uuid>, not in the action's directory.
    expect(lines.find((l) => l.startsWith("cwd="))).toMatch(/\/worker\/persistent\/[0-9a-f]{16}\/d/);
    // Outputs were moved back to the action on exit 0.
    expect(result.outputFiles).toEqual({ "out/a.txt": "BF" });
  });

  it("§5: output becomes the action's stdout; the worker argv drops the flagfile and adds --persistent_worker", async () => {
    const result = await bf.execute(probeAction(["--echo=to stdout"]));
    expect(result.stdout).toBe("to stdout");
    expect(result.execution.argv).toEqual([...bridgeWorker("probe"), "--persistent_worker"]);
  });

  it("§5: the worker is reused for the same key, and a changed argfile at the same path is read afresh", async () => {
    const a = await bf.execute(probeAction(["--echo=v1", "--write=out/a.txt=v1"]));
    const b = await bf.execute(probeAction(["--echo=v2", "--write=out/a.txt=v2"]));
    expect(b.execution.workerStarted).toBe(false);
    expect(b.execution.workerPid).toBe(a.execution.workerPid);
    expect(b.stdout).toBe("v2");
    expect(b.outputFiles).toEqual({ "out/a.txt": "v2" });
  });

  it("§5: outputs are moved back only when the exit code is 0", async () => {
    const failed = await bf.execute(probeAction(["--write=out/a.txt=partial", "--echo=failing", "--exit=1"]));
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toBe("failing");
    expect(failed.outputFiles).toEqual({});
    // The output left in the exec root must not leak into the next action either.
    const next = await bf.execute(probeAction(["--echo=clean"]));
    expect(next.outputFiles).toEqual({});
  });

  it("§5: up to 6 workers per key when actions run concurrently", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => bf.execute(probeAction([`--echo=${i}`, "--sleep=1500"], ["--host=inline"]))));
    for (const r of results) expect(r.exitCode).toBe(0);
    const pids = new Set(results.map((r) => r.execution.workerPid));
    expect(pids.size).toBe(6);
  });

  it("§5: a worker binary that is neither absolute nor a bazel_tool_input fails as Buildfarm does (exit -1)", async () => {
    const action = probeAction(["--echo=x"]);
    const relative: RemoteAction = {
      ...action,
      arguments: ["tools/worker.sh", `@${ARGFILE}`],
      inputRoot: { ...action.inputRoot, "tools/worker.sh": { content: `#!/bin/sh\nexec "${process.execPath}" "${bridgeWorker("probe")[1]}" --tool probe "$@"\n`, executable: true } },
    };
    const refused = await bf.execute(relative);
    expect(refused.exitCode).toBe(-1);
    expect(refused.stdout).toMatch(/IllegalArgumentException/);
    // Marked as a tool input, it is copied into the exec root and runs.
    const marked: RemoteAction = {
      ...relative,
      inputRoot: { ...relative.inputRoot, "tools/worker.sh": { content: (relative.inputRoot["tools/worker.sh"] as { content: string }).content, executable: true, toolInput: true } },
    };
    const ok = await bf.execute(marked);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toBe("x");
    expect(ok.execution.argv).toEqual(["tools/worker.sh", "--persistent_worker"]);
  });

  it("§5: a timeout destroys the worker; the next action gets a new one", async () => {
    const before = await bf.execute(probeAction(["--echo=warm"], ["--host=inline"]));
    const hung = await bf.execute({ ...probeAction(["--hang"], ["--host=inline"]), timeoutMs: 1_500 });
    expect(hung.status.code).toBe("DEADLINE_EXCEEDED");
    expect(hung.execution.workerStopped).toBe("SIGTERM");
    const after = await bf.execute(probeAction(["--echo=again"], ["--host=inline"]));
    expect(after.stdout).toBe("again");
    expect(after.execution.workerPid).not.toBe(hung.execution.workerPid);
    expect(before.exitCode).toBe(0);
  });

  it("§5: a worker that dies mid-request is an exception: exit code -1 with a diagnostic", async () => {
    const crashed = await bf.execute(probeAction(["--crash"], ["--host=inline"]));
    expect(crashed.status.code).toBe("OK");
    expect(crashed.exitCode).toBe(-1);
    expect(crashed.stdout).toMatch(/persistent worker failed: .*EOF/);
  });
});
