// The daemon key names the bridge by content (docs/daemon.md, "The key"): copies of one
// single-file bundle at different paths (one per sandbox or remote build directory) share a
// daemon, which runs its own copy so that it outlives the action's directory. The identity is fixed
// at build time and only claimed by clients; the daemon checks it, so a bridge edited after its
// build is refused, never served.
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bundleContentDigest, embedBundleDigest } from "../../src/daemon/build-id.js";
import { REPO_ROOT } from "../support/paths.js";
import { daemonInfos, daemonPidsFor, fallbackLines, killDaemons, makeDaemonDir, pidFrom, removeDaemonDir, runClient } from "./helpers.js";

const BUNDLE = join(REPO_ROOT, "dist", "worker-bridge.mjs");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setUp(): { dir: string; work: string } {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'npm run build' first`);
  const dir = makeDaemonDir();
  const work = mkdtempSync(join(tmpdir(), "wb-bundles-"));
  cleanups.push(async () => {
    await killDaemons(dir);
    expect(daemonPidsFor(dir)).toEqual([]);
    removeDaemonDir(dir);
  });
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  return { dir, work };
}

/** A copy of the bundle in its own directory, as an action's input root would hold it. */
function copyBundle(work: string, name: string): string {
  mkdirSync(join(work, name));
  const file = join(work, name, "worker-bridge.mjs");
  copyFileSync(BUNDLE, file);
  return file;
}

async function runProbe(entry: string, dir: string, echo: string): Promise<number> {
  const run = await runClient(["--tool", "probe", "--daemon=require", `--daemon-dir=${dir}`, `--echo=${echo}`, "--pid"], { entry });
  expect(run.code, run.stderr).toBe(0);
  expect(fallbackLines(run.stderr)).toEqual([]);
  expect(run.stderr).toContain(echo);
  return pidFrom(run.stderr);
}

describe("the daemon and the single-file bundle", () => {
  it("two copies of the bundle in two directories share one daemon, which runs from its own copy and outlives theirs", async () => {
    const { dir, work } = setUp();
    const a = copyBundle(work, "a");
    const b = copyBundle(work, "b");
    const pidA = await runProbe(a, dir, "from-a");
    const pidB = await runProbe(b, dir, "from-b");
    expect(daemonInfos(dir)).toHaveLength(1);
    // The same warm tool process answered both.
    expect(pidB).toBe(pidA);
    const [daemonPid] = daemonPidsFor(dir);
    const cmdline = readFileSync(`/proc/${daemonPid}/cmdline`, "utf8").split("\0");
    const staged = readdirSync(join(dir, "bridges"));
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatch(/^worker-bridge-[0-9a-f]{64}\.mjs$/);
    expect(cmdline[1]).toBe(join(dir, "bridges", staged[0]!));
    expect(readFileSync(join(dir, "bridges", staged[0]!)).equals(readFileSync(BUNDLE))).toBe(true);
    // Both action directories gone: the daemon and its tool process still serve a third copy.
    rmSync(join(work, "a"), { recursive: true });
    rmSync(join(work, "b"), { recursive: true });
    const pidC = await runProbe(copyBundle(work, "c"), dir, "from-c");
    expect(pidC).toBe(pidA);
    expect(daemonPidsFor(dir)).toEqual([daemonPid]);
  });

  it("the bundle carries its own content digest, fixed at build time", () => {
    const bytes = readFileSync(BUNDLE);
    const embedded = /^const __workerBridgeBuildDigest = "([0-9a-f]{64})";$/m.exec(bytes.toString("latin1").split("\n")[1]!)?.[1];
    expect(embedded).toBeDefined();
    expect(bundleContentDigest(bytes)).toBe(embedded);
    const edited = Buffer.concat([bytes, Buffer.from("\n// edited\n")]);
    expect(bundleContentDigest(edited)).not.toBe(embedded);
  });

  it("a bundle with different content gets a different daemon", async () => {
    const { dir, work } = setUp();
    const a = copyBundle(work, "a");
    const other = copyBundle(work, "other");
    // Another build: other content, and the digest embedded for it.
    appendFileSync(other, "\n// another build\n");
    writeFileSync(other, embedBundleDigest(readFileSync(other)).bytes);
    const pidA = await runProbe(a, dir, "from-a");
    const pidOther = await runProbe(other, dir, "from-other");
    expect(pidOther).not.toBe(pidA);
    const keys = daemonInfos(dir).map((i) => i.key);
    expect(new Set(keys).size).toBe(2);
    expect(daemonPidsFor(dir)).toHaveLength(2);
    expect(readdirSync(join(dir, "bridges"))).toHaveLength(2);
  });

  it("a bundle edited after its build (stale embedded digest) is refused by the warm daemon and runs in-process", async () => {
    const { dir, work } = setUp();
    const pidWarm = await runProbe(copyBundle(work, "a"), dir, "from-a");
    const stale = copyBundle(work, "stale");
    appendFileSync(stale, "\n// edited after the build\n");
    const run = await runClient(["--tool", "probe", "--daemon=on", `--daemon-dir=${dir}`, "--echo=from-stale", "--pid"], { entry: stale });
    expect(run.code, run.stderr).toBe(0);
    expect(fallbackLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/daemon refused the request: the client's bridge .*stale.* is not the build it claims/);
    expect(run.stderr).toContain("from-stale");
    // Answered by the client itself, not by the daemon's tool process.
    expect(pidFrom(run.stderr)).not.toBe(pidWarm);
    const required = await runClient(["--tool", "probe", "--daemon=require", `--daemon-dir=${dir}`, "--echo=x"], { entry: stale });
    expect(required.code).toBe(2);
    expect(required.stderr).toContain("is not the build it claims");
    expect(daemonInfos(dir)).toHaveLength(1);
  });

  it("a bundle edited after its build starts no daemon of its own", async () => {
    const { dir, work } = setUp();
    const stale = copyBundle(work, "stale");
    appendFileSync(stale, "\n// edited after the build\n");
    const run = await runClient(["--tool", "probe", "--daemon=require", `--daemon-dir=${dir}`, "--echo=x"], { entry: stale });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is not the build it claims");
    expect(daemonPidsFor(dir)).toEqual([]);
    expect(existsSync(join(dir, "bridges")) ? readdirSync(join(dir, "bridges")) : []).toEqual([]);
  });

  it("a package dist/ edited after its build is refused by the warm daemon, and a daemon started from it exits before serving", async () => {
    const { dir, work } = setUp();
    const pkg = join(work, "pkg");
    cpSync(join(REPO_ROOT, "dist"), join(pkg, "dist"), { recursive: true });
    writeFileSync(join(pkg, "package.json"), readFileSync(join(REPO_ROOT, "package.json")));
    const pristine = join(pkg, "dist", "cli.js");
    const pidWarm = await runProbe(pristine, dir, "from-pristine");
    const edited = join(work, "edited");
    cpSync(pkg, edited, { recursive: true });
    appendFileSync(join(edited, "dist", "tools", "probe.js"), "\n// edited after the build\n");
    const run = await runClient(["--tool", "probe", "--daemon=on", `--daemon-dir=${dir}`, "--echo=from-edited", "--pid"], {
      entry: join(edited, "dist", "cli.js"),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/daemon refused the request: the client's bridge .*edited.* is not the build it claims/);
    expect(pidFrom(run.stderr)).not.toBe(pidWarm);
    // With the warm daemon gone, the edited package's own daemon checks itself and never serves.
    await killDaemons(dir);
    const alone = await runClient(["--tool", "probe", "--daemon=require", `--daemon-dir=${dir}`, "--echo=x"], { entry: join(edited, "dist", "cli.js") });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/not the build it claims/);
    expect(daemonPidsFor(dir)).toEqual([]);
  });
});
