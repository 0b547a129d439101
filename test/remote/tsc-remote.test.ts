// The tsc tool behind every executor profile (issue 6 item 2): correct outputs, warm reuse, and
// correct results when the workspace changes between requests at the same paths (input digests
// on BuildBuddy and Buildfarm, empty inputs on NativeLink) — never stale.
import { describe, expect, it } from "vitest";
import { workerAction, type ActionResult, type ProfileName, type RemoteAction } from "./emulator/index.js";
import { diagnostics, useExecutor } from "./support.js";

const TSCONFIG = JSON.stringify({
  compilerOptions: { outDir: "out", rootDir: "src", declaration: true, strict: true, target: "ES2022", module: "ES2022", moduleResolution: "bundler", types: [] },
  files: ["src/a.ts", "src/b.ts"],
});
const OUTPUTS = ["out/a.js", "out/a.d.ts", "out/b.js", "out/b.d.ts"];
const B_TS = 'import { x } from "./a.js";\nexport const y: number = x + 1;\n';

/** Three builds of one target: an edit that keeps every path (and the file size), then a type error. */
const VERSIONS = [
  { a: "export const x: number = 1;\n", exit: 0 },
  { a: "export const x: number = 2;\n", exit: 0 },
  { a: 'export const x: number = "2";\n', exit: 2 },
] as const;

function tscAction(profile: ProfileName, a: string): RemoteAction {
  return workerAction(profile, {
    tool: "tsc",
    argfile: { path: "bazel-out/k8-fastbuild/bin/lib/tsc.args", args: ["-p", "tsconfig.json"] },
    inputs: { "tsconfig.json": TSCONFIG, "src/a.ts": a, "src/b.ts": B_TS },
    outputPaths: OUTPUTS,
  });
}

describe("tsc tool through the executor profiles", () => {
  const plain = useExecutor("plain");
  // One profile per request shape (expanded args + REAPI digests, unexpanded @argfile + hex
  // digests, empty inputs + sandbox_dir); the wire format (proto/JSON) is covered with the probe.
  // Cold tsc costs ~4 s of CPU, so this file keeps to six cold compiles.
  const profiles: ProfileName[] = ["buildbuddy-proto", "buildfarm", "nativelink"];
  const executors = profiles.map((p) => useExecutor(p));
  const reference: ActionResult[] = [];

  it("one-shot reference (plain): three builds compile like tsc", async () => {
    for (const v of VERSIONS) reference.push(await plain.execute(tscAction("plain", v.a)));
    expect(reference.map((r) => r.exitCode)).toEqual(VERSIONS.map((v) => v.exit));
    expect(reference[0]!.outputFiles["out/a.js"]).toBe("export const x = 1;\n");
    expect(reference[1]!.outputFiles["out/a.js"]).toBe("export const x = 2;\n");
    expect(reference[1]!.outputFiles["out/b.d.ts"]).toBe("export declare const y: number;\n");
    expect(diagnostics(reference[2]!).join("\n")).toMatch(/src\/a\.ts\(1,14\): error TS2322/);
  }, 300_000);

  for (const [i, profile] of profiles.entries()) {
    it(`${profile}: warm, never stale, same outputs and diagnostics as one-shot`, async () => {
      expect(reference).toHaveLength(VERSIONS.length);
      const executor = executors[i]!;
      const results: ActionResult[] = [];
      for (const v of VERSIONS) results.push(await executor.execute(tscAction(profile, v.a)));
      expect(results.map((r) => r.execution.path)).toEqual(["persistent", "persistent", "persistent"]);
      expect(results.map((r) => r.execution.workerStarted)).toEqual([true, false, false]);
      for (const [n, result] of results.entries()) {
        const ref = reference[n]!;
        expect({ n, status: result.status.code, exitCode: result.exitCode }).toEqual({ n, status: "OK", exitCode: ref.exitCode });
        expect({ n, diagnostics: diagnostics(result) }).toEqual({ n, diagnostics: diagnostics(ref) });
        // Buildfarm moves outputs back only on exit 0.
        if (ref.exitCode === 0 || profile !== "buildfarm") expect({ n, outputs: result.outputFiles }).toEqual({ n, outputs: ref.outputFiles });
      }
    }, 300_000);
  }
});
