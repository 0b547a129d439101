import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startMarker } from "../support/job-started.js";
import { CLI, REPO_ROOT } from "../support/paths.js";
import { bazelDigest, bazelExpandFlagfiles, splitActionArgv } from "./harness/bazel-action.js";
import { FakeBazel, isJson, killAllWorkers, type Profile } from "./harness/fake-bazel.js";
import { sleep, startProbeWorker, stopCleanly } from "./harness/probe-worker.js";

// Conformance of the Bazel front door against a faithful fake Bazel (docs/protocol/bazel-worker.md §12).
// Scenario numbers refer to §12.5.

afterEach(() => killAllWorkers());

const start = startProbeWorker;
const finish = stopCleanly;

const MULTIPLEX_PROFILES: Profile[] = ["bazel-4.2.3-proto", "bazel-4.2.3-json", "bazel-5+-json", "bazel-6+-proto"];

describe.each(MULTIPLEX_PROFILES)("multiplex, profile %s", (profile) => {
  it("§12.5.2 four requests in one chunk with ids 2, 4, 3, 1 are answered in completion order", async () => {
    const w = start(profile, { multiplex: true });
    const sleeps: Record<number, number> = { 1: 0, 4: 300, 3: 600, 2: 900 };
    const reqs = [2, 4, 3, 1].map((id) => ({ requestId: id, arguments: [`--sleep=${sleeps[id]}`, `--echo=id${id}`] }));
    const answers = reqs.map((r) => w.expect(r));
    w.writeRaw(Buffer.concat(reqs.map((r) => w.encode(r))));
    const got = await Promise.all(answers);
    expect(got.map((r) => r.output)).toEqual(["id2", "id4", "id3", "id1"]);
    expect(w.received.map((r) => r.requestId), w.diagnostics()).toEqual([1, 4, 3, 2]);
    await finish(w);
  });

  it("§12.5.3 request ids reused by a second build against the same process", async () => {
    const w = start(profile, { multiplex: true });
    for (const build of ["first", "second"]) {
      const rs = await Promise.all([1, 2, 3].map((id) => w.request({ requestId: id, arguments: [`--echo=${build}-${id}`, "--pid"] })));
      expect(rs.map((r) => r.output.split("\n")[0])).toEqual([`${build}-1`, `${build}-2`, `${build}-3`]);
    }
    await finish(w);
  });

  it("§12.5.5 a cancel for a running request gets exactly one response", async () => {
    const w = start(profile, { multiplex: true });
    const running = startMarker();
    const hung = w.request({ requestId: 7, arguments: [running.arg, "--hang"] });
    const other = w.request({ requestId: 8, arguments: ["--sleep=300", "--echo=other"] });
    await running.reached();
    w.cancel(7);
    const r = await hung;
    if (!isJson(profile)) expect(r.wasCancelled).toBe(true);
    expect((await other).output).toBe("other");
    // the process still serves and nothing extra arrived for id 7
    expect((await w.request({ requestId: 9, arguments: ["--echo=after"] })).output).toBe("after");
    expect(w.received.filter((x) => x.requestId === 7)).toHaveLength(1);
    await finish(w);
  });

  it("§12.5.5 a cancel after completion gets no response, and no was_cancelled is ever unsolicited", async () => {
    const w = start(profile, { multiplex: true, extra: ["--log-level=debug"] });
    await w.request({ requestId: 3, arguments: ["--echo=done"] });
    w.cancel(3);
    // The bridge has read the cancel and decided: any answer to it would be on its way by now.
    await w.waitForLog(/ignoring cancel for a request that is not running/);
    expect((await w.request({ requestId: 4, arguments: ["--echo=next"] })).output).toBe("next");
    expect(w.received.map((r) => r.requestId)).toEqual([3, 4]);
    expect(w.received.every((r) => !r.wasCancelled)).toBe(true);
    await finish(w);
  });
});

describe("singleplex details", () => {
  it("§12.5.4 non-zero ids arriving one at a time in a sandboxed singleplex process are echoed", async () => {
    const w = start("bazel-4.2.3-proto");
    for (const id of [1, 2, 3]) {
      const r = await w.request({ requestId: id, arguments: [`--echo=${id}`] });
      expect(r.requestId).toBe(id);
    }
    await finish(w);
  });

  it.each(["bazel-4.2.3-proto", "bazel-4.2.3-json"] as Profile[])(
    "§12.5.5 a singleplex cancel (02 20 01 / {\"cancel\":true}) ends the running request with one answer (%s)",
    async (profile) => {
      const w = start(profile);
      const running = startMarker();
      const hung = w.request({ arguments: [running.arg, "--hang"] });
      await running.reached();
      const cancelBytes = w.encode({ cancel: true });
      expect(isJson(profile) ? cancelBytes.toString() : cancelBytes.toString("hex")).toBe(isJson(profile) ? '{"cancel":true}' : "022001");
      w.cancel(0);
      const r = await hung;
      if (!isJson(profile)) expect(r.wasCancelled).toBe(true);
      expect((await w.request({ arguments: ["--echo=next"] })).output).toBe("next");
      await finish(w);
    },
  );

  it("§12.5.14 a fully default response is the single byte 00 (proto)", async () => {
    const w = start("bazel-4.2.3-proto");
    const chunks: Buffer[] = [];
    w.child.stdout!.on("data", (c: Buffer) => chunks.push(c));
    await w.request({});
    expect(Buffer.concat(chunks).toString("hex")).toBe("00");
    await finish(w);
  });

  it("docs/protocol/bazel-worker.md §14 trap: the first JSON response is never shorter than 5 bytes and uses camelCase keys", async () => {
    const w = start("bazel-4.2.3-json");
    const chunks: Buffer[] = [];
    w.child.stdout!.on("data", (c: Buffer) => chunks.push(c));
    await w.request({});
    const text = Buffer.concat(chunks).toString();
    expect(text).toBe('{"exitCode":0,"output":"","requestId":0}\n');
    await finish(w);
  });

  it("§12.5.6 unknown proto fields 5, 6 and 99 are skipped", async () => {
    const w = start("bazel-4.2.3-proto");
    // field 1 "--echo=u", then fields a 4.2.3-era reader does not know: 5 (verbosity, varint 0),
    // 6 (sandbox_dir, empty), 99 (varint) and 100 (length-delimited)
    const body = Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from("--echo=u"), Buffer.from([0x28, 0, 0x32, 0, 0x98, 0x06, 0x01, 0xa2, 0x06, 0x01, 0x7a])]);
    const p = w.expect({});
    w.writeRaw(Buffer.concat([Buffer.from([body.length]), body]));
    expect((await p).output).toBe("u");
    await finish(w);
  });

  it("§12.5.6 unknown JSON keys are ignored", async () => {
    const w = start("bazel-5+-json");
    const p = w.expect({});
    w.writeRaw(Buffer.from('{"arguments":["--echo=k"],"futureField":{"nested":[1,2]},"another":"x"}\n'));
    expect((await p).output).toBe("k");
    await finish(w);
  });
});

describe("Bazel 6+ fields", () => {
  it.each(["bazel-6+-proto", "bazel-6+-json"] as Profile[])(
    "sandbox_dir becomes the job's cwd for tool paths and argfiles (%s)",
    async (profile) => {
      const w = start(profile, { multiplex: true });
      const sandbox = "__sandbox/3/_main";
      mkdirSync(join(w.execroot, sandbox), { recursive: true });
      writeFileSync(join(w.execroot, sandbox, "req.args"), "--echo=from sandbox argfile\n--write=out/o.txt=hello\n--cwd\n");
      const r = await w.request({ requestId: 1, sandboxDir: sandbox, arguments: ["@req.args"] });
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toBe(`from sandbox argfile\ncwd=${join(w.execroot, sandbox)}`);
      expect(readFileSync(join(w.execroot, sandbox, "out/o.txt"), "utf8")).toBe("hello");
      await finish(w);
    },
  );

  it("a sandbox_dir that climbs out of the worker directory is refused, and the worker keeps serving", async () => {
    const w = start("bazel-6+-proto", { multiplex: true });
    const r = await w.request({ requestId: 1, sandboxDir: "../../etc", arguments: ["--cwd"] });
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/sandbox_dir "..\/..\/etc" escapes the worker directory/);
    expect((await w.request({ requestId: 2, arguments: ["--echo=ok"] })).output).toBe("ok");
    await finish(w);
  });

  it("verbosity > 0 adds request detail to the output and the worker log", async () => {
    const w = start("bazel-6+-proto");
    const quiet = await w.request({ arguments: ["--echo=q"] });
    expect(quiet.output).toBe("q");
    const loud = await w.request({ arguments: ["--echo=v"], verbosity: 10 });
    expect(loud.output).toMatch(/^v\nworker-bridge: request 0: exit 0 \(completed\) in [\d.]+ ms on pid \d+$/);
    await finish(w);
    expect(w.log()).toMatch(/request received .*verbosity=10/);
  });
});

describe("bad input (§7.1, never a hang, never garbage on stdout)", () => {
  it.each(["bazel-4.2.3-proto", "bazel-4.2.3-json"] as Profile[])(
    "an unparseable request is reported on stderr with its byte offset, then the worker exits non-zero (%s)",
    async (profile) => {
      const w = start(profile);
      const ok = w.request({ arguments: ["--echo=before garbage"] });
      const garbage = isJson(profile) ? Buffer.from("this is not json") : Buffer.from([0x03, 0x0a, 0x09, 0x61]);
      w.writeRaw(garbage);
      expect((await ok).output).toBe("before garbage");
      const exit = await Promise.race([w.exited, sleep(5000).then(() => "timeout" as const)]);
      expect(exit, w.diagnostics()).not.toBe("timeout");
      expect((exit as { code: number }).code).not.toBe(0);
      expect(w.violations).toEqual([]);
      expect(w.log()).toMatch(/unparseable (proto|json) WorkRequest on stdin: .*byte offset \d+/);
    },
  );

  it("stdin closed in the middle of a frame: clear error, non-zero exit, no hang", async () => {
    const w = start("bazel-4.2.3-proto");
    const bytes = w.encode({ arguments: ["--echo=never finished"] });
    w.writeRaw(bytes.subarray(0, bytes.length - 3));
    const exit = await w.closeStdin(4000);
    expect(exit.code).toBe(1);
    expect(w.log()).toMatch(/truncated frame at end of input/);
    expect(w.received).toEqual([]);
  });

  it("a request over --max-message-mb is refused with a message naming the limit", async () => {
    const w = start("bazel-4.2.3-proto", { extra: ["--max-message-mb=1"] });
    w.writeRaw(w.encode({ arguments: [`--echo=${"x".repeat(1_100_000)}`] }));
    const exit = await Promise.race([w.exited, sleep(5000).then(() => "timeout" as const)]);
    expect(exit).not.toBe("timeout");
    expect((exit as { code: number }).code).toBe(1);
    expect(w.log()).toMatch(/exceeds the 1048576-byte limit \(--max-message-mb\)/);
  });

  it("a missing argfile is an answer naming the path; the worker keeps serving", async () => {
    const w = start("bazel-5+-json");
    const r = await w.request({ arguments: ["@does/not/exist.args"] });
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/cannot read argfile @does\/not\/exist\.args .*no such file/);
    expect((await w.request({ arguments: ["--echo=ok"] })).output).toBe("ok");
    await finish(w);
  });
});

describe("how Bazel builds requests (§3.2, §3.3, §12.2) against the bridge", () => {
  it("startup args + --persistent_worker + extra flags; flagfile contents become the request", async () => {
    const argv = ["--tool", "test/support/tools/echo-args.mjs", "--startup-one", "@x.args", "--trailing"];
    const split = splitActionArgv(argv);
    expect(split.startupArgs).toEqual(["--tool", "test/support/tools/echo-args.mjs", "--startup-one", "--trailing"]);
    const w = new FakeBazel({
      profile: "bazel-4.2.3-proto",
      startupArgs: split.startupArgs.map((a) => (a.endsWith(".mjs") ? join(REPO_ROOT, a) : a)),
      extraFlags: ["--extra-flag"],
    });
    writeFileSync(join(w.execroot, "x.args"), "--a\n\n@@double\n@ext//pkg:t\n@nested.args\n--flagfile=f.args\n");
    writeFileSync(join(w.execroot, "nested.args"), "--nested\n");
    writeFileSync(join(w.execroot, "f.args"), "--from-flagfile\n");
    const args = bazelExpandFlagfiles(split.flagfileArgs, w.execroot);
    // Bazel expands @ only; @@, @x// and --flagfile= pass through verbatim (§3.3)
    expect(args).toEqual(["--a", "", "@@double", "@ext//pkg:t", "--nested", "--flagfile=f.args"]);
    const r = await w.request({ arguments: args, inputs: [{ path: "x.args", digest: bazelDigest(join(w.execroot, "x.args")) }] });
    const seen = JSON.parse(r.output) as { args: string[]; startup: string[] };
    // the bridge strips the @@ escape and expands the --flagfile= Bazel left for it
    expect(seen.args).toEqual(["--a", "", "@double", "@ext//pkg:t", "--nested", "--from-flagfile"]);
    expect(seen.startup).toEqual(["--startup-one", "--trailing", "--extra-flag"]);
    await finish(w);
  });
});

describe("§12.5.12 one-shot mode (no --persistent_worker): same command line, argfile expanded by the bridge", () => {
  it("expands blank lines, @@, @repo// labels and nested @files, and exits with the tool's code", () => {
    const tool = join(REPO_ROOT, "test/support/tools/echo-args.mjs");
    const cwd = new FakeBazel({ profile: "bazel-4.2.3-proto", startupArgs: ["--tool", "probe"] });
    const dir = cwd.execroot;
    void cwd.stop();
    writeFileSync(join(dir, "p.args"), "--first\n\n@@lit\n@repo//pkg:label\n@nested.args\n");
    writeFileSync(join(dir, "nested.args"), "--nested\n");
    const res = spawnSync(process.execPath, [CLI, "--tool", tool, "--startup", "@p.args"], { cwd: dir, encoding: "utf8", timeout: 20_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stderr)).toEqual({ args: ["--first", "", "@lit", "@repo//pkg:label", "--nested"], startup: ["--startup"] });
    expect(res.stdout).toBe("");
  });

  it("exits with the tool's exit code and prints its output on stderr", () => {
    const res = spawnSync(process.execPath, [CLI, "--tool", "probe", "--echo=one-shot diag", "--exit=7"], { encoding: "utf8", timeout: 20_000 });
    expect(res.status).toBe(7);
    expect(res.stderr).toBe("one-shot diag\n");
    expect(res.stdout).toBe("");
  });

  it("a missing argfile is a clear error and exit code 2", () => {
    const res = spawnSync(process.execPath, [CLI, "--tool", "probe", "@nope.args"], { encoding: "utf8", timeout: 20_000 });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/cannot read argfile @nope\.args/);
  });

  it("an unknown tool is a clear usage error", () => {
    const res = spawnSync(process.execPath, [CLI, "--tool", "no-such-tool", "x"], { encoding: "utf8", timeout: 20_000 });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/--tool no-such-tool: not a built-in tool \(probe, tsc\)/);
  });
});
