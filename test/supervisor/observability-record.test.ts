// Logging, the exit summary, and record/replay, driven through the Bazel front door (proto).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireBuiltCli } from "../support/paths.js";
import { BazelBridge, killAllBridges } from "./helpers/bazel-client.js";

const temps: string[] = [];
afterEach(() => {
  killAllBridges();
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "wb-supervisor-"));
  temps.push(d);
  return d;
}

function replay(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [requireBuiltCli(), "replay", ...args], { encoding: "utf8", timeout: 30_000, killSignal: "SIGKILL" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("observability (issue 4 §8; docs/lessons.md §6 #9)", () => {
  it("--log-format=json: every stderr line is JSON; each request logs id, duration, exit code and host pid; a summary ends the log", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe", "--log-level", "info", "--log-format", "json", "--concurrency", "2"] });
    await b.request(1, ["--echo=x"]);
    await b.request(2, ["--exit=3"]);
    await b.request(3, ["--crash"]);
    await b.end();
    const lines = b.stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests.map((r) => [r.id, r.exit])).toEqual([
      [1, 0],
      [2, 3],
      [3, 70],
    ]);
    for (const r of requests) {
      expect(typeof r.ms).toBe("number");
      expect(typeof r.pid).toBe("number");
      expect(r.pid).not.toBe(b.pid); // host pid: the tool process, not the bridge
    }
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ level: "info", msg: "summary", requests: 3, failures: 2, crashed: 1, crashes: 1, recycles: 0 });
    expect(typeof summary.p50Ms).toBe("number");
    expect(typeof summary.p99Ms).toBe("number");
  });

  it("the default log level (warn) keeps request lines and the summary out of the worker log", async () => {
    const b = new BazelBridge({ args: ["--tool", "probe"] });
    await b.request(0, ["--echo=x"]);
    await b.end();
    expect(b.stderr).toBe("");
  });
});

describe("record and replay (issue 4 §9; docs/lessons.md §6 #9)", () => {
  it("--record writes each request and result (owner-only files); env values never reach the log", async () => {
    const dir = tempDir();
    const b = new BazelBridge({
      args: ["--tool", "probe", "--record", dir, "--log-level", "debug"],
      env: { WB_TEST_SECRET: "s3cr3t-value" },
    });
    const argfile = join(dir, "args.params");
    writeFileSync(argfile, "--echo=from-argfile\n--env=WB_TEST_SECRET\n");
    expect((await b.request(0, [`@${argfile}`])).output).toBe("from-argfile\nWB_TEST_SECRET=s3cr3t-value");
    await b.end();
    expect(b.stderr).not.toContain("s3cr3t-value");
    const [session] = readdirSync(dir).filter((n) => n !== "args.params");
    const sessionDir = join(dir, session!);
    expect(statSync(sessionDir).mode & 0o777).toBe(0o700);
    const file = join(sessionDir, "request-000001.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const rec = JSON.parse(readFileSync(file, "utf8"));
    expect(rec).toMatchObject({
      origin: "bazel",
      id: 0,
      args: [`@${argfile}`],
      expandedArgs: ["--echo=from-argfile", "--env=WB_TEST_SECRET"],
      cwd: process.cwd(),
      result: { exitCode: 0, output: "from-argfile\nWB_TEST_SECRET=s3cr3t-value", end: "completed" },
    });
    expect(rec.env.WB_TEST_SECRET).toBe("s3cr3t-value");
  });

  it("replay re-runs a recording warm and --cold, reports 'same', and exits 0", async () => {
    const dir = tempDir();
    const b = new BazelBridge({ args: ["--tool", "probe", "--record", dir] });
    await b.request(0, ["--echo=one"]);
    await b.request(0, ["--echo=two", "--exit=4"]);
    await b.end();
    for (const mode of [[], ["--cold"], ["--host", "process"]]) {
      const r = replay([dir, ...mode]);
      expect(r.stdout).toMatch(/#1 \(id 0\): same \(exit 0\)/);
      expect(r.stdout).toMatch(/#2 \(id 0\): same \(exit 4\)/);
      expect(r.stdout).toMatch(/replayed 2 request\(s\): 2 same, 0 different, 0 skipped/);
      expect(r.status).toBe(0);
    }
  });

  it("replay reports a request whose result differs from the recording, and exits 1", async () => {
    const dir = tempDir();
    const b = new BazelBridge({ args: ["--tool", "probe", "--record", dir] });
    await b.request(0, ["--echo=real"]);
    await b.end();
    const [session] = readdirSync(dir);
    const file = join(dir, session!, "request-000001.json");
    const rec = JSON.parse(readFileSync(file, "utf8"));
    rec.result.output = "what the build saw";
    rec.result.exitCode = 1;
    writeFileSync(file, JSON.stringify(rec));
    const r = replay([dir]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/#1 \(id 0\): DIFFERENT\n {4}exit code: recorded 1, replayed 0\n {4}output differs from line 1/);
    expect(r.stdout).toMatch(/\| what the build saw[\s\S]*\| real/);
  });

  it("--record into a directory that cannot be created is a usage error (exit 2) naming it, before any request", () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    const r = spawnSync(process.execPath, [requireBuiltCli(), "--persistent_worker", "--tool", "probe", "--record", join(file, "rec")], {
      encoding: "utf8",
      input: "",
      timeout: 30_000,
      killSignal: "SIGKILL",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--record ${join(file, "rec")}: cannot create`);
    expect(r.stdout).toBe("");
  });

  it("replay of a directory without a recording is a usage error naming the directory", () => {
    const dir = tempDir();
    const r = replay([dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no recorded session in ${dir}`);
  });
});
