// What each package entry point loads, observed in a fresh Node process on the built dist/: a tool
// process must not pay for gRPC or the bridge, and embedding must not load gRPC before the Buck2
// door is used.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HOOKS = fileURLToPath(new URL("fixtures/register-resolve-log.mjs", import.meta.url));

/** Repository-relative paths (or package names) of every module importing `specifier` resolves. */
function modulesLoadedBy(specifier: string): string[] {
  const child = spawnSync(process.execPath, ["--import", HOOKS, "--input-type=module", "-e", `await import(${JSON.stringify(specifier)});`], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (child.status !== 0) throw new Error(`importing ${specifier} failed (${child.status ?? child.signal}):\n${child.stderr}`);
  const stderr = child.stderr;
  return [...new Set(
    stderr
      .split("\n")
      .filter((l) => l.startsWith("resolved "))
      .map((l) => l.slice("resolved ".length))
      .filter((url) => url.startsWith("file:"))
      .map((url) => fileURLToPath(url).slice(ROOT.length + 1)),
  )].sort();
}

describe("package entry points", () => {
  if (!existsSync(resolve(ROOT, "dist/index.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does)");

  it('"worker-bridge/tool" loads the tool API module and nothing else', () => {
    expect(modulesLoadedBy("worker-bridge/tool")).toEqual(["dist/tool-api/define-tool.js"]);
  });

  it('"worker-bridge" (the root) loads only the tool API', () => {
    expect(modulesLoadedBy("worker-bridge")).toEqual(["dist/index.js", "dist/tool-api/define-tool.js"]);
  });

  it('"worker-bridge/bazel" loads the Bazel codecs, the generated messages and the error module, no process or gRPC code', () => {
    const loaded = modulesLoadedBy("worker-bridge/bazel");
    expect(loaded).toContain("dist/protocol/bazel/framing.js");
    expect(loaded.filter((m) => m.startsWith("dist/") && !m.startsWith("dist/protocol/bazel/") && !m.startsWith("dist/gen/bazel/") && m !== "dist/errors.js")).toEqual([]);
    expect(loaded.filter((m) => m.includes("@grpc"))).toEqual([]);
  });

  it('"worker-bridge/embed" loads the runtime and doors but not gRPC or the process host', () => {
    const loaded = modulesLoadedBy("worker-bridge/embed");
    expect(loaded).toContain("dist/runtime/runtime.js");
    expect(loaded.filter((m) => m.includes("@grpc") || m.startsWith("dist/frontends/buck2/") || m === "dist/supervisor/process-host.js")).toEqual([]);
  });

  it("the check sees gRPC when it is loaded (so the checks above can fail)", () => {
    expect(modulesLoadedBy("./dist/frontends/buck2/serve.js").some((m) => m.includes("@grpc/grpc-js"))).toBe(true);
  });
});
