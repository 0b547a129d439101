// The warm daemon behind the one-shot path (docs/daemon.md), driven through the built CLI as an
// executor would run it. Every test has its own --daemon-dir and kills what it started.
import { chownSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectDaemon, exchange } from "../../src/daemon/connect.js";
import type { DaemonMessage, StatusReply } from "../../src/protocol/daemon/messages.js";
import {
  daemonInfos,
  daemonPidsFor,
  fallbackLines,
  isAlive,
  killDaemons,
  makeDaemonDir,
  pidFrom,
  removeDaemonDir,
  runClient,
  startClient,
  waitUntil,
} from "./helpers.js";

const dirs: string[] = [];
function newDir(): string {
  const d = makeDaemonDir();
  dirs.push(d);
  return d;
}

afterEach(async () => {
  for (const d of dirs.splice(0)) {
    await killDaemons(d);
    expect(daemonPidsFor(d)).toEqual([]);
    removeDaemonDir(d);
  }
});

function probe(dir: string, ...args: string[]): string[] {
  return ["--tool", "probe", "--daemon", `--daemon-dir=${dir}`, ...args];
}

async function status(dir: string): Promise<StatusReply> {
  const [info] = daemonInfos(dir);
  if (!info) throw new Error("no daemon info file");
  const conn = await connectDaemon(info.socket);
  if (!("socket" in conn)) throw new Error(`cannot connect: ${conn.error}`);
  const { messages } = await exchange(conn.socket, { type: "status" });
  const reply = messages.find((m): m is StatusReply => m.type === "status");
  if (!reply) throw new Error("no status reply");
  return reply;
}

describe("daemon mode: the request runs as the client would have run it", () => {
  it("a second run reuses the warm tool process; exit code, output, cwd, argfiles and the client's exact env carry over", async () => {
    const dir = newDir();
    const work = join(dir, "..", "work");
    mkdirSync(work);
    writeFileSync(join(work, "req.args"), "--echo=from-argfile\n--cwd\n--env=ONLY_FIRST\n--env=ONLY_SECOND\n--env=HOME\n--pid\n--exit=7\n");
    const first = await runClient(probe(dir, "@req.args"), { cwd: work, env: { ONLY_FIRST: "1", ONLY_SECOND: undefined } });
    expect(fallbackLines(first.stderr)).toEqual([]);
    expect(first.code).toBe(7);
    expect(first.stdout).toBe("");
    expect(first.stderr).toContain("from-argfile\n");
    expect(first.stderr).toContain(`cwd=${work}\n`);
    expect(first.stderr).toContain("ONLY_FIRST=1\n");
    // The daemon was started by the first client; the second must not see that client's env.
    const second = await runClient(probe(dir, "@req.args"), { cwd: work, env: { ONLY_FIRST: undefined, ONLY_SECOND: "2", HOME: undefined } });
    expect(second.code).toBe(7);
    expect(second.stderr).toContain("ONLY_FIRST=\n");
    expect(second.stderr).toContain("ONLY_SECOND=2\n");
    // Not even what a daemon might keep for itself (HOME) reaches a client that did not set it.
    expect(second.stderr).toContain("HOME=\n");
    expect(pidFrom(second.stderr)).toBe(pidFrom(first.stderr));
    expect(daemonPidsFor(dir)).toHaveLength(1);
    const s = await status(dir);
    expect(s.requests).toBe(2);
    // The socket and its directory are the user's alone.
    expect(readFileSync(join(dir, "..", "work", "req.args"), "utf8")).toContain("--pid");
  });

  it("socket 0600 in a 0700 directory", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--echo=x"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    const { statSync } = await import("node:fs");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(info!.socket).mode & 0o777).toBe(0o600);
  });

  it("different startup args are a different key: a second daemon, and a daemon refuses a request for another key", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--echo=a"))).code).toBe(0);
    // With a flagfile, the other arguments are startup arguments (docs/daemon.md "The key").
    const work = join(dir, "..");
    writeFileSync(join(work, "r.args"), "--echo=b\n");
    const other = await runClient([...probe(dir, "--startup-flag"), "@r.args"], { cwd: work });
    expect(fallbackLines(other.stderr)).toEqual([]);
    expect(daemonInfos(dir)).toHaveLength(2);
    const [info] = daemonInfos(dir);
    const conn = await connectDaemon(info!.socket);
    if (!("socket" in conn)) throw new Error(conn.error);
    const { messages } = await exchange(conn.socket, { type: "run", key: "0".repeat(64), bridge: "/", cwd: "/", argv: ["--echo=x"], env: {} });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: "refused" });
    expect((messages[0] as Extract<DaemonMessage, { type: "refused" }>).reason).toMatch(/serves key [0-9a-f]{12}, not 000000000000/);
  });

  it("a client speaking garbage gets a refusal, and the daemon keeps serving", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--echo=x"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    const { connect } = await import("node:net");
    const reply = await new Promise<string>((resolve) => {
      const s = connect(info!.socket);
      let got = "";
      s.on("data", (d) => (got += d.toString("latin1")));
      s.on("close", () => resolve(got));
      s.write(Buffer.from([0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
    });
    expect(reply).toContain('"refused"');
    expect((await runClient(probe(dir, "--echo=still"))).stderr).toContain("still");
  });
});

describe("daemon mode: never a wrong or lost result", () => {
  it("a stale socket and info file left by a SIGKILLed daemon: the next client starts a new daemon", async () => {
    const dir = newDir();
    const first = await runClient(probe(dir, "--echo=x"));
    expect(first.code).toBe(0);
    const [info] = daemonInfos(dir);
    process.kill(info!.pid, "SIGKILL");
    await waitUntil(() => !isAlive(info!.pid));
    expect(existsSync(info!.socket)).toBe(true);
    const next = await runClient(probe(dir, "--echo=again"));
    expect(fallbackLines(next.stderr)).toEqual([]);
    expect(next.stderr).toContain("again");
    const [info2] = daemonInfos(dir);
    expect(info2!.pid).not.toBe(info!.pid);
  });

  it("a daemon SIGKILLed mid-request: the request still succeeds, in-process, with one line saying why", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--echo=warm"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    const { done } = startClient(probe(dir, "--sleep=1500", "--echo=finished"));
    expect(await waitUntil(async () => (await status(dir)).inFlight === 1)).toBe(true);
    process.kill(info!.pid, "SIGKILL");
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("finished");
    expect(fallbackLines(r.stderr)).toHaveLength(1);
    expect(fallbackLines(r.stderr)[0]).toMatch(/died mid-request/);
  });

  it("a daemon stopped (SIGTERM) mid-request hangs up instead of answering 'shutting down'; the request runs in-process", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--shutdown-grace-ms=100", "--echo=warm"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    const { done } = startClient(probe(dir, "--shutdown-grace-ms=100", "--sleep=2000", "--echo=finished"));
    expect(await waitUntil(async () => (await status(dir)).inFlight === 1)).toBe(true);
    process.kill(info!.pid, "SIGTERM");
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("finished");
    expect(r.stderr).not.toMatch(/shutting down/);
    expect(fallbackLines(r.stderr)).toHaveLength(1);
    expect(await waitUntil(() => !isAlive(info!.pid))).toBe(true);
  });

  it("daemons killed from outside twice: clients stop starting them and say how to start one outside the build", async () => {
    const dir = newDir();
    for (let i = 0; i < 2; i++) {
      expect((await runClient(probe(dir, "--echo=x"))).code).toBe(0);
      const [info] = daemonInfos(dir);
      process.kill(info!.pid, "SIGKILL");
      await waitUntil(() => !isAlive(info!.pid));
    }
    const r = await runClient(probe(dir, "--echo=still-works"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("still-works");
    expect(fallbackLines(r.stderr)).toHaveLength(1);
    expect(fallbackLines(r.stderr)[0]).toMatch(/the last 2 daemons for this key were killed from outside.*'worker-bridge daemon start'/);
    expect(daemonPidsFor(dir)).toEqual([]);
    // An explicit start clears the pause.
    expect((await runClient(["daemon", "start", `--daemon-dir=${dir}`, "--tool", "probe"])).code).toBe(0);
    expect(fallbackLines((await runClient(probe(dir, "--echo=warm-again"))).stderr)).toEqual([]);
  });

  it("a hung daemon (SIGSTOPped) does not hang the client: no reply within the bound, the request runs in-process", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--echo=warm"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    process.kill(info!.pid, "SIGSTOP");
    const r = await runClient(probe(dir, "--echo=answered"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("answered");
    expect(fallbackLines(r.stderr)).toHaveLength(1);
    expect(fallbackLines(r.stderr)[0]).toMatch(/did not answer \(no reply within 30000 ms\)/);
  }, 120_000);

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`the client killed mid-request (${signal}) aborts its job in the daemon; the daemon lives on`, async () => {
      const dir = newDir();
      expect((await runClient(probe(dir, "--echo=warm"))).code).toBe(0);
      const [info] = daemonInfos(dir);
      const { child, done } = startClient(probe(dir, "--hang"));
      expect(await waitUntil(async () => (await status(dir)).inFlight === 1)).toBe(true);
      child.kill(signal);
      await done;
      // --hang ends only when aborted: nothing in flight means the job was aborted.
      expect(await waitUntil(async () => (await status(dir)).inFlight === 0)).toBe(true);
      expect(isAlive(info!.pid)).toBe(true);
      const after = await runClient(probe(dir, "--echo=next"));
      expect(after.stderr).toContain("next");
      expect(fallbackLines(after.stderr)).toEqual([]);
    });
  }

  it("a directory owned by someone else is refused: the run happens in-process, one line says why", async () => {
    if (process.getuid!() !== 0) {
      // Without root we cannot make a directory owned by someone else; a root-owned one will do.
      const r = await runClient(["--tool", "probe", "--daemon", "--daemon-dir=/", "--echo=ok"]);
      expect(r.code).toBe(0);
      expect(fallbackLines(r.stderr)[0]).toMatch(/belongs to uid 0/);
      return;
    }
    const dir = newDir();
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    const r = await runClient(probe(dir, "--echo=ok"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ok\n");
    expect(fallbackLines(r.stderr)).toHaveLength(1);
    expect(fallbackLines(r.stderr)[0]).toMatch(/belongs to uid 65534, not to you/);
    expect(daemonPidsFor(dir)).toEqual([]);
  });

  it("a group-writable directory is refused; --daemon=require fails instead of falling back", async () => {
    const dir = newDir();
    mkdirSync(dir);
    chmodSync(dir, 0o770);
    const r = await runClient(probe(dir, "--echo=ok"));
    expect(r.code).toBe(0);
    expect(fallbackLines(r.stderr)[0]).toMatch(/has mode 0770; it must be 0700/);
    const strict = await runClient(["--tool", "probe", "--daemon=require", `--daemon-dir=${dir}`, "--echo=ok"]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(/daemon is required .* but unavailable: .*mode 0770/);
    expect(strict.stderr).not.toContain("ok\n");
  });

  it("WORKER_BRIDGE_DAEMON turns it on; --no-daemon wins; a bad value is a clear usage error", async () => {
    const dir = newDir();
    const on = await runClient(["--tool", "probe", "--echo=x"], { env: { WORKER_BRIDGE_DAEMON: "on", WORKER_BRIDGE_DAEMON_DIR: dir } });
    expect(on.code).toBe(0);
    expect(daemonInfos(dir)).toHaveLength(1);
    const off = await runClient(["--tool", "probe", "--no-daemon", "--echo=x"], { env: { WORKER_BRIDGE_DAEMON: "on", WORKER_BRIDGE_DAEMON_DIR: dir } });
    expect(off.code).toBe(0);
    expect((await status(dir)).requests).toBe(1);
    const bad = await runClient(["--tool", "probe", "--echo=x"], { env: { WORKER_BRIDGE_DAEMON: "yes" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/WORKER_BRIDGE_DAEMON expects on, off or require, got "yes"/);
  });
});

describe("daemon lifecycle", () => {
  it("exits after the idle timeout, removing its socket and info file", async () => {
    const dir = newDir();
    expect((await runClient(probe(dir, "--daemon-idle-ms=400", "--echo=x"))).code).toBe(0);
    const [info] = daemonInfos(dir);
    expect(await waitUntil(() => !isAlive(info!.pid))).toBe(true);
    expect(existsSync(info!.socket)).toBe(false);
    expect(daemonInfos(dir)).toEqual([]);
    expect(readFileSync(info!.log, "utf8")).toMatch(/daemon stopping reason=idle/);
  });

  it("50 clients at once with no daemon start exactly one daemon, and none falls back", async () => {
    const dir = newDir();
    const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => runClient(probe(dir, `--echo=c${i}`))));
    for (const [i, r] of runs.entries()) {
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`c${i}\n`);
      expect(fallbackLines(r.stderr)).toEqual([]);
    }
    const [info] = daemonInfos(dir);
    const log = readFileSync(info!.log, "utf8");
    // Every daemon process that ever started logs one of these two lines.
    expect(log.match(/daemon serving/g)).toHaveLength(1);
    expect(log).not.toMatch(/another daemon already serves/);
    expect(daemonPidsFor(dir)).toEqual([info!.pid]);
    expect((await status(dir)).requests).toBe(50);
  });

  it("daemon status lists, daemon stop stops; daemon start starts one outside a build", async () => {
    const dir = newDir();
    const started = await runClient(["daemon", "start", `--daemon-dir=${dir}`, "--tool", "probe"]);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/daemon for key [0-9a-f]{12} is running/);
    const r = await runClient(probe(dir, "--echo=x"));
    expect(fallbackLines(r.stderr)).toEqual([]);
    const st = await runClient(["daemon", "status", `--daemon-dir=${dir}`]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/1 daemon\(s\), 0 in-process fallback\(s\)/);
    expect(st.stdout).toMatch(/pid \d+ serving tool probe \[\] since .*: 1 request\(s\), 0 in flight/);
    const [info] = daemonInfos(dir);
    const stop = await runClient(["daemon", "stop", `--daemon-dir=${dir}`]);
    expect(stop.stdout).toBe(`pid ${info!.pid}: stopped\n`);
    expect(isAlive(info!.pid)).toBe(false);
    expect(daemonInfos(dir)).toEqual([]);
  });
});
