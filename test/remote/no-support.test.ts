// Executors without worker support (docs/protocol/remote-executors.md §1, §7, §10.2 buildbarn/plain,
// scenario §10.3 7).
import { describe, expect, it } from "vitest";
import { workerAction, type ProfileName, type RemoteAction } from "./emulator/index.js";
import { diagnostics, useExecutor } from "./support.js";

function probeAction(profile: ProfileName, args: string[]): RemoteAction {
  return workerAction(profile, {
    tool: "probe",
    argfile: { path: "bazel-out/k8-fastbuild/bin/req.args", args },
    inputs: { "nested.args": "--echo=nested line\n" },
    outputPaths: ["out/a.txt"],
  });
}

describe("Buildbarn: the platform key extractor pitfall (§7)", () => {
  const actionExtractor = useExecutor("buildbarn", { platformKeyExtractor: "action", platformQueueWithNoWorkersTimeoutMs: 300 });
  const staticExtractor = useExecutor("buildbarn", { platformKeyExtractor: "static" });

  it("with the action extractor and runners on platform {}, an action carrying persistentWorkerKey queues and times out", async () => {
    const result = await actionExtractor.execute(probeAction("buildbarn", ["--write=out/a.txt=never"]));
    expect(result.status.code).toBe("FAILED_PRECONDITION");
    expect(result.status.message).toMatch(/^No workers exist for instance name prefix "" platform \{"properties":\[\{"name":"persistentWorkerKey"/);
    expect(result.execution.path).toBe("not-run");
    expect(result.outputFiles).toEqual({});
  });

  it("with the action extractor, an action without the key (empty platform) runs", async () => {
    const action = probeAction("buildbarn", ["--echo=matched"]);
    const result = await actionExtractor.execute({ ...action, platform: [] });
    expect(result.status.code).toBe("OK");
    expect(diagnostics(result)).toEqual(["matched"]);
  });

  it("with the static extractor the key is ignored and the action runs one-shot: WORKER ARGS @argfile", async () => {
    const action = probeAction("buildbarn", ["--echo=static", "@nested.args", "--write=out/a.txt=BB"]);
    const result = await staticExtractor.execute(action);
    expect(result.status.code).toBe("OK");
    expect(result.execution.path).toBe("one-shot");
    expect(result.execution.argv).toEqual(action.arguments);
    expect(result.execution.argv).not.toContain("--persistent_worker");
    expect(diagnostics(result)).toEqual(["static", "nested line"]);
    expect(result.outputFiles).toEqual({ "out/a.txt": "BB" });
  });
});

describe("scenario 7: one-shot executors give the same outputs and exit code as the persistent path", () => {
  const plain = useExecutor("plain");
  const buildbarn = useExecutor("buildbarn", { platformKeyExtractor: "static" });
  const buildbuddy = useExecutor("buildbuddy-proto");

  for (const [name, args, exit] of [
    ["success", ["--echo=ok", "@nested.args", "--write=out/a.txt=same"], 0],
    ["failure", ["--echo=bad", "--write=out/a.txt=partial", "--exit=3"], 3],
  ] as const) {
    it(`${name}: plain and buildbarn (one-shot) match buildbuddy (persistent)`, async () => {
      const warm = await buildbuddy.execute(probeAction("buildbuddy-proto", [...args]));
      expect(warm.execution.path).toBe("persistent");
      for (const executor of [plain, buildbarn]) {
        const cold = await executor.execute(probeAction(executor.profile, [...args]));
        expect(cold.execution.path).toBe("one-shot");
        expect(cold.execution.argv.at(-1)).toBe("@bazel-out/k8-fastbuild/bin/req.args");
        expect(cold.exitCode).toBe(exit);
        expect(cold.exitCode).toBe(warm.exitCode);
        expect(cold.outputFiles).toEqual(warm.outputFiles);
        expect(diagnostics(cold)).toEqual(diagnostics(warm));
      }
    });
  }

  it("scenario 10 (one-shot): a hung action is ended by the executor's SIGTERM at the deadline", async () => {
    const result = await plain.execute({ ...probeAction("plain", ["--sleep=600000"]), timeoutMs: 1_500 });
    expect(result.status.code).toBe("DEADLINE_EXCEEDED");
    expect(result.exitCode).toBe(128 + 15);
  });

  it("one-shot: a tool whose run() can never settle fails the action instead of exiting 0", async () => {
    // probe --hang waits on the abort signal only; one-shot, nothing else keeps the process alive.
    const result = await plain.execute(probeAction("plain", ["--hang", "--write=out/a.txt=never"]));
    expect(result.status.code).toBe("OK");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/the tool never finished/);
    expect(result.outputFiles).toEqual({});
  });

  it("the plain executor runs exactly the command line, in a fresh directory each time", async () => {
    const a = await plain.execute(probeAction("plain", ["--pid", "--cwd"]));
    const b = await plain.execute(probeAction("plain", ["--pid", "--cwd"]));
    expect(diagnostics(a)[0]).not.toBe(diagnostics(b)[0]);
    expect(diagnostics(a)[1]).not.toBe(diagnostics(b)[1]);
  });
});
