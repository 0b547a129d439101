// Issue 11: the npm package works on its own. `npm pack` makes the tarball a user would install;
// an empty temp project installs it offline (every dependency from the local npm cache, which
// `npm ci` in this repository filled) and runs the bridge through `npx worker-bridge` one-shot and
// as a Bazel persistent worker, then the single-file build it ships (dist/worker-bridge.mjs) with
// the built-in tsc tool, which resolves TypeScript from the project's node_modules.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO_ROOT, requireBuiltCli } from "../support/paths.js";

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
let dir = "";
let project = "";

function run(cmd: string, args: string[], cwd: string, timeout = 180_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
  return { code: r.status, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}` };
}

function must(r: { code: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/**
 * A lockfile for the temp project: worker-bridge from the tarball, and its runtime dependencies
 * exactly as this repository's lock pins them (same versions, resolved URLs and integrity). With
 * it `npm ci --offline` needs no registry metadata, only the tarballs already in the npm cache.
 */
function projectLock(tarball: string, tarballPath: string, manifest: { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string> }): object {
  const repoLock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {
    "": { name: "pack-test", dependencies: { [manifest.name]: `file:${tarball}` } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: `file:${tarball}`,
      integrity: `sha512-${createHash("sha512").update(readFileSync(tarballPath)).digest("base64")}`,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path.startsWith("node_modules/") && entry.dev !== true && entry.devOptional !== true) packages[path] = entry;
  }
  return { name: "pack-test", lockfileVersion: 3, requires: true, packages };
}

/** One JSON WorkRequest to a persistent worker; resolves its first response line. Killed after 60 s. */
function oneJsonRequest(cmd: string, args: string[], cwd: string, request: object): Promise<{ response: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const watchdog = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no response in 60 s; stderr: ${stderr.slice(-2000)}`));
    }, 60_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      const nl = stdout.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(watchdog);
      child.stdin.end(); // EOF: the worker exits
      resolve({ response: stdout.slice(0, nl), stderr });
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(watchdog);
      reject(new Error(`worker exited ${code} before answering; stderr: ${stderr.slice(-2000)}`));
    });
    child.stdin.write(`${JSON.stringify(request)}\n`);
  });
}

beforeAll(() => {
  requireBuiltCli();
  if (!existsSync(join(REPO_ROOT, "dist", "worker-bridge.mjs"))) throw new Error("dist/worker-bridge.mjs is missing: run 'npm run build' first");
  dir = mkdtempSync(join(tmpdir(), "worker-bridge-pack-"));
  const packed = JSON.parse(must(run(npm, ["pack", "--json", "--pack-destination", dir], REPO_ROOT), "npm pack")) as { filename: string; files: { path: string }[] }[];
  const tarball = packed[0]!.filename;
  expect(packed[0]!.files.map((f) => f.path)).toContain("dist/worker-bridge.mjs");
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
  project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "pack-test", private: true, dependencies: { [manifest.name]: `file:../${tarball}` } }, null, 2)}\n`);
  const lock = projectLock(`../${tarball}`, join(dir, tarball), manifest) as { packages: Record<string, LockEntry> };
  writeFileSync(join(project, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  must(run(npm, ["ci", "--offline", "--ignore-scripts"], project), "npm ci --offline (the dependencies must be in the npm cache: run 'npm ci' in the repository first)");
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm pack: the tarball installed offline into an empty project", () => {
  test("npx worker-bridge --tool probe runs one-shot and exits with the tool's code", () => {
    const ok = run(npx, ["--offline", "--no", "--", "worker-bridge", "--tool", "probe", "--echo=from the package", "--write=out.txt=packed"], project);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain("from the package");
    expect(readFileSync(join(project, "out.txt"), "utf8")).toBe("packed");
    const failing = run(npx, ["--offline", "--no", "--", "worker-bridge", "--tool", "probe", "--exit=3"], project);
    expect(failing.code).toBe(3);
  });

  test("npx worker-bridge --tool probe --persistent_worker answers a JSON WorkRequest", async () => {
    const { response, stderr } = await oneJsonRequest(npx, ["--offline", "--no", "--", "worker-bridge", "--tool", "probe", "--protocol=json", "--persistent_worker"], project, {
      arguments: ["--echo=worker from the package"],
      requestId: 0,
    });
    const parsed = JSON.parse(response) as { exitCode?: number; output?: string };
    expect(parsed.exitCode ?? 0, stderr).toBe(0);
    expect(parsed.output).toContain("worker from the package");
  });

  test("the shipped single file runs the tsc tool with the project's TypeScript, and as a worker", async () => {
    const bundle = join(project, "node_modules", "worker-bridge", "dist", "worker-bridge.mjs");
    writeFileSync(join(project, "a.ts"), "export const answer: number = 42;\n");
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", target: "es2022", types: [], outDir: "out" }, files: ["a.ts"] }));
    const tsc = run(process.execPath, [bundle, "--tool", "tsc", "-p", "tsconfig.json"], project);
    expect(tsc.code, tsc.stderr).toBe(0);
    expect(readFileSync(join(project, "out", "a.js"), "utf8")).toContain("answer = 42");

    const { response, stderr } = await oneJsonRequest(process.execPath, [bundle, "--tool", "probe", "--protocol=json", "--persistent_worker"], project, {
      arguments: ["--echo=bundle worker", "--pid"],
      requestId: 0,
    });
    const parsed = JSON.parse(response) as { exitCode?: number; output?: string };
    expect(parsed.exitCode ?? 0, stderr).toBe(0);
    expect(parsed.output).toContain("bundle worker");
  });
});
