// Scenario §10.3 11: the same action through every profile gives identical outputs — the
// determinism check EngFlow's hermeticity warning calls for (docs/protocol/remote-executors.md §1).
import { describe, expect, it } from "vitest";
import { PROFILES, workerAction, type ActionResult, type ProfileName, type RemoteAction } from "./emulator/index.js";
import { diagnostics, useExecutor } from "./support.js";

const OUTPUTS = ["out/a.txt", "out/nested/dir/b.txt", "out/never.txt"];

function action(profile: ProfileName, args: string[]): RemoteAction {
  return workerAction(profile, {
    tool: "probe",
    argfile: { path: "bazel-out/k8-fastbuild/bin/pkg/req.args", args },
    inputs: {
      "pkg/more.args": "--echo=from nested argfile\n--write=out/nested/dir/b.txt=nested \u00e9\n",
      "pkg/crlf.args": "--echo=crlf one\r\n--echo=crlf two\r\n",
    },
    outputPaths: OUTPUTS,
  });
}

const REQUESTS: readonly { name: string; args: string[]; exitCode: number }[] = [
  {
    name: "nested argfiles, CRLF lines, non-ASCII, several outputs",
    args: ["--echo=start", "@pkg/more.args", "@pkg/crlf.args", "--echo=@@literal", "--write=out/a.txt=A"],
    exitCode: 0,
  },
  { name: "a failing action", args: ["--echo=failing", "--exit=4"], exitCode: 4 },
];

describe("scenario 11: every profile gives identical outputs for the same action", () => {
  const executors = PROFILES.map((p) => useExecutor(p, p === "buildbarn" ? { platformKeyExtractor: "static" } : {}));

  for (const request of REQUESTS) {
    it(request.name, async () => {
      const results = new Map<ProfileName, ActionResult>();
      for (const executor of executors) results.set(executor.profile, await executor.execute(action(executor.profile, request.args)));
      const reference = results.get("plain")!;
      expect(reference.exitCode).toBe(request.exitCode);
      for (const [profile, result] of results) {
        expect({ profile, status: result.status.code }).toEqual({ profile, status: "OK" });
        expect({ profile, exitCode: result.exitCode }).toEqual({ profile, exitCode: reference.exitCode });
        expect({ profile, diagnostics: diagnostics(result) }).toEqual({ profile, diagnostics: diagnostics(reference) });
        // Buildfarm moves outputs back only on exit 0; every other profile keeps what was written.
        if (request.exitCode === 0 || profile !== "buildfarm") {
          expect({ profile, outputs: result.outputFiles }).toEqual({ profile, outputs: reference.outputFiles });
        }
      }
      const persistent = [...results].filter(([, r]) => r.execution.path === "persistent").map(([p]) => p);
      expect(persistent.sort()).toEqual(["buildbuddy-json", "buildbuddy-proto", "buildfarm", "nativelink"]);
      if (request.exitCode === 0) {
        expect(reference.outputFiles).toEqual({ "out/a.txt": "A", "out/nested/dir/b.txt": "nested \u00e9" });
        expect(diagnostics(reference)).toEqual(["start", "from nested argfile", "crlf one", "crlf two", "@@literal"]);
      }
    });
  }
});
