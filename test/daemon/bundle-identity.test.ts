// The daemon key names the bridge by content (docs/daemon.md, "The key"): copies of one
// single-file bundle at different paths (one per sandbox or remote build directory) share a
// daemon, which runs its own copy so that it outlives the action's directory.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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

  it("a bundle with different content gets a different daemon", async () => {
    const { dir, work } = setUp();
    const a = copyBundle(work, "a");
    const other = copyBundle(work, "other");
    appendFileSync(other, "\n// another build\n");
    const pidA = await runProbe(a, dir, "from-a");
    const pidOther = await runProbe(other, dir, "from-other");
    expect(pidOther).not.toBe(pidA);
    const keys = daemonInfos(dir).map((i) => i.key);
    expect(new Set(keys).size).toBe(2);
    expect(daemonPidsFor(dir)).toHaveLength(2);
    expect(readdirSync(join(dir, "bridges"))).toHaveLength(2);
  });
});
