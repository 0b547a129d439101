// BuildBuddy profiles (docs/protocol/remote-executors.md §4, §10.2, scenarios §10.3 1–4, 9, 10).
import { describe, expect, it } from "vitest";
import {
  bridgeWorker,
  decodeDigestProto,
  REPO_ROOT,
  sha256Digest,
  workerAction,
  type RemoteAction,
  type SentRequest,
} from "./emulator/index.js";
import { diagnostics, pidOf, useExecutor } from "./support.js";
import { resolve } from "node:path";
import { decodeWorkRequest, FrameReader } from "../support/bazel-client/index.js";

const OUTS = ["out/a.txt", "out/b.txt"];

function probeAction(
  profile: "buildbuddy-proto" | "buildbuddy-json",
  args: string[],
  extra: Partial<RemoteAction> = {},
  startupArgs: string[] = [],
): RemoteAction {
  const base = workerAction(profile, {
    tool: "probe",
    ...(extra.arguments === undefined && startupArgs.length > 0 ? { startupArgs } : {}),
    argfile: { path: "bazel-out/k8-fastbuild/bin/req.args", args },
    inputs: { "src/data.txt": "some input\n" },
    outputPaths: OUTS,
  });
  return { ...base, ...extra };
}

/** A separate RunnerKey, so a test starts from its own worker (string args are not in the key). */
function keyed(action: RemoteAction, suffix: string): RemoteAction {
  return {
    ...action,
    platform: action.platform.map((p) => (p.name === "persistentWorkerKey" ? { name: p.name, value: `${p.value}-${suffix}` } : p)),
  };
}

describe("BuildBuddy, proto (§4, §10.2 buildbuddy-proto)", () => {
  const sent: SentRequest[] = [];
  const bb = useExecutor("buildbuddy-proto", { onRequest: (s) => sent.push(s), terminationGraceMs: 10_000 });

  it("scenario 1: two tasks with the same key share one warm process while the workspace is wiped and refilled between them", async () => {
    const first = await bb.execute(probeAction("buildbuddy-proto", ["--pid", "--echo=first", "--write=out/a.txt=A1"]));
    const second = await bb.execute(probeAction("buildbuddy-proto", ["--pid", "--echo=second", "--write=out/b.txt=B2"]));
    expect(first.status.code).toBe("OK");
    expect(second.status.code).toBe("OK");
    expect(first.execution).toMatchObject({ path: "persistent", workerStarted: true });
    expect(second.execution).toMatchObject({ path: "persistent", workerStarted: false });
    expect(pidOf(second)).toBe(pidOf(first));
    expect(second.execution.workerPid).toBe(first.execution.workerPid);
    // The second task's argfile (same path, new content) was read from the refilled workspace…
    expect(diagnostics(second)).toContain("second");
    expect(first.outputFiles).toEqual({ "out/a.txt": "A1" });
    // …and the first task's output did not survive the wipe.
    expect(second.outputFiles).toEqual({ "out/b.txt": "B2" });
  });

  it("§4.3: the worker is started as the non-flagfile args + --persistent_worker", async () => {
    const result = await bb.execute(probeAction("buildbuddy-proto", ["--echo=x"]));
    expect(result.execution.argv).toEqual([...bridgeWorker("probe"), "--persistent_worker"]);
  });

  it("§4.4: requests carry request_id 0, expanded @file lines and every workspace input with a serialized REAPI Digest", async () => {
    sent.length = 0;
    await bb.execute(probeAction("buildbuddy-proto", ["--echo=wire"]));
    const last = sent.at(-1)!;
    expect(last.wire).toBe("proto");
    const frames = new FrameReader().push(last.bytes);
    expect(frames).toHaveLength(1);
    const decoded = decodeWorkRequest(frames[0]!);
    expect(decoded.requestId).toBe(0);
    expect(decoded.arguments).toEqual(["--echo=wire"]);
    const byPath = new Map(decoded.inputs.map((i) => [i.path, decodeDigestProto(i.digest)]));
    expect([...byPath.keys()].sort()).toEqual(["bazel-out/k8-fastbuild/bin/req.args", "src/data.txt"]);
    expect(byPath.get("src/data.txt")).toEqual(sha256Digest("some input\n"));
  });

  it("scenario 2: a second task with a different env reuses the process, which keeps the first task's env", async () => {
    const a = await bb.execute(keyed({ ...probeAction("buildbuddy-proto", ["--pid", "--env=STAGE"]), env: { STAGE: "first" } }, "env"));
    const b = await bb.execute(keyed({ ...probeAction("buildbuddy-proto", ["--pid", "--env=STAGE"]), env: { STAGE: "second" } }, "env"));
    // Env is not part of the RunnerKey: same process, first env (results must not depend on it).
    expect(pidOf(b)).toBe(pidOf(a));
    expect(diagnostics(a)).toContain("STAGE=first");
    expect(diagnostics(b)).toContain("STAGE=first");
  });

  it("scenario 4: a non-zero exit code is an ordinary action failure and the worker is kept", async () => {
    const before = await bb.execute(probeAction("buildbuddy-proto", ["--pid"]));
    const failed = await bb.execute(probeAction("buildbuddy-proto", ["--echo=broken build", "--exit=3"]));
    const after = await bb.execute(probeAction("buildbuddy-proto", ["--pid"]));
    expect(failed.status.code).toBe("OK");
    expect(failed.exitCode).toBe(3);
    expect(failed.stderr).toContain("broken build");
    expect(failed.stdout).toBe("");
    expect(pidOf(after)).toBe(pidOf(before));
  });

  it("scenario 3: a bridge that exits mid-request (--host inline) gives UNAVAILABLE, and the next task gets a fresh worker", async () => {
    const inline = (args: string[]): RemoteAction => keyed(probeAction("buildbuddy-proto", args, {}, ["--host=inline"]), "inline");
    const before = await bb.execute(inline(["--pid"]));
    expect(before.execution.workerStarted).toBe(true);
    // Inline, the tool runs inside the bridge: probe --crash takes the worker process down.
    expect(pidOf(before)).toBe(before.execution.workerPid);
    const crashed = await bb.execute(inline(["--echo=about to crash", "--crash"]));
    expect(crashed.status.code).toBe("UNAVAILABLE");
    expect(crashed.status.message).toMatch(/failed to read persistent work response: EOF/);
    const after = await bb.execute(inline(["--pid"]));
    expect(after.execution.workerStarted).toBe(true);
    expect(pidOf(after)).not.toBe(pidOf(before));
    expect(bb.livePids()).not.toContain(pidOf(before));
  });

  it("scenario 3 (bridge default): a tool crash is an ordinary failure and the warm worker is kept (crash isolation)", async () => {
    const before = await bb.execute(probeAction("buildbuddy-proto", ["--pid"]));
    const crashed = await bb.execute(probeAction("buildbuddy-proto", ["--echo=about to crash", "--crash"]));
    expect(crashed.status.code).toBe("OK");
    expect(crashed.exitCode).toBe(70);
    expect(crashed.stderr).toMatch(/exited with code 70/);
    const after = await bb.execute(probeAction("buildbuddy-proto", ["--pid"]));
    expect(after.execution.workerStarted).toBe(false);
    expect(after.execution.workerPid).toBe(before.execution.workerPid);
  });

  it("scenario 9: an argfile line of 64 KiB fails under BuildBuddy (bufio.Scanner); 64 KiB - 1 passes", async () => {
    const fits = `--echo=${"x".repeat(65_535 - "--echo=".length)}`;
    const tooLong = `--echo=${"x".repeat(65_536 - "--echo=".length)}`;
    const ok = await bb.execute(probeAction("buildbuddy-proto", [fits]));
    expect(ok.status.code).toBe("OK");
    expect(ok.stderr.length).toBe(65_535 - "--echo=".length);
    const bad = await bb.execute(probeAction("buildbuddy-proto", [tooLong]));
    expect(bad.status.code).not.toBe("OK");
    expect(bad.status.message).toMatch(/token too long/);
  });

  it("scenario 10: a hung request is unblocked only by terminating the worker, which exits promptly on SIGTERM", async () => {
    const hung = await bb.execute({ ...probeAction("buildbuddy-proto", ["--hang"]), timeoutMs: 1_500 });
    expect(hung.status.code).toBe("DEADLINE_EXCEEDED");
    // Exited within the 10 s termination grace period: SIGKILL was not needed.
    expect(hung.execution.workerStopped).toBe("SIGTERM");
    const next = await bb.execute(probeAction("buildbuddy-proto", ["--echo=alive"]));
    expect(next.execution.workerStarted).toBe(true);
    expect(diagnostics(next)).toEqual(["alive"]);
  });

  it("§4.2: without recycle-runner the command line runs one-shot: WORKER ARGS @argfile, no --persistent_worker", async () => {
    const action = probeAction("buildbuddy-proto", ["--echo=one shot", "--write=out/a.txt=oneshot"]);
    const result = await bb.execute({ ...action, platform: action.platform.filter((p) => p.name !== "recycle-runner") });
    expect(result.execution.path).toBe("one-shot");
    expect(result.execution.argv).toEqual(action.arguments);
    expect(result.execution.argv).not.toContain("--persistent_worker");
    expect(result.exitCode).toBe(0);
    expect(result.outputFiles).toEqual({ "out/a.txt": "oneshot" });
    expect(diagnostics(result)).toEqual(["one shot"]);
  });

  it("§4.1: persistent-workers=true without a key derives one from the args (needs a flagfile)", async () => {
    const action = probeAction("buildbuddy-proto", ["--pid"]);
    const platform = [{ name: "recycle-runner", value: "True" }, { name: "persistent-workers", value: "true" }];
    const a = await bb.execute({ ...action, platform });
    const b = await bb.execute({ ...action, platform });
    expect(a.execution.path).toBe("persistent");
    expect(pidOf(b)).toBe(pidOf(a));
  });

  it("§4.1: an unknown persistentWorkerProtocol fails the task", async () => {
    const action = probeAction("buildbuddy-proto", ["--echo=x"]);
    const result = await bb.execute({ ...action, platform: [...action.platform, { name: "persistentWorkerProtocol", value: "xml" }] });
    expect(result.status.code).toBe("INVALID_ARGUMENT");
    expect(result.status.message).toMatch(/unsupported persistent worker protocol/);
  });

  it("scenario 3 (emulator self-check): undecodable bytes on stdout give UNAVAILABLE with the worker's stderr", async () => {
    const garbage = resolve(REPO_ROOT, "test/remote/fixtures/garbage-worker.mjs");
    const action = probeAction("buildbuddy-proto", ["--echo=x"]);
    const result = await bb.execute(keyed({ ...action, arguments: [process.execPath, garbage, "@bazel-out/k8-fastbuild/bin/req.args"] }, "garbage"));
    expect(result.status.code).toBe("UNAVAILABLE");
    expect(result.status.message).toMatch(/cannot parse WorkResponse/);
    expect(result.status.message).toContain("garbage-worker: answering with garbage");
  });
});

describe("BuildBuddy, JSON (§4.4, §10.2 buildbuddy-json)", () => {
  const sent: SentRequest[] = [];
  const bb = useExecutor("buildbuddy-json", { onRequest: (s) => sent.push(s) });

  it("persistentWorkerProtocol=json: protojson requests with every field, irregular spacing and \\n; the bridge answers and stays warm", async () => {
    const a = await bb.execute(probeAction("buildbuddy-json", ["--pid", "--echo=json one", "--write=out/a.txt=J1"]));
    const b = await bb.execute(probeAction("buildbuddy-json", ["--pid", "--echo=json two"]));
    expect(a.status.code).toBe("OK");
    expect(a.outputFiles).toEqual({ "out/a.txt": "J1" });
    expect(diagnostics(b)).toContain("json two");
    expect(pidOf(b)).toBe(pidOf(a));
    const texts = sent.map((s) => s.bytes.toString("utf8"));
    for (const text of texts) {
      expect(text.endsWith("}\n")).toBe(true);
      expect(text).toMatch(/"requestId":\s?0/);
      expect(JSON.parse(text).inputs.length).toBe(2);
    }
    // protojson spacing is unstable: some separators carry a space, some do not.
    const joined = texts.join("");
    expect(joined).toMatch(/": "|", "/);
    expect(joined).toMatch(/":"|","/);
  });

  it("scenario 3 (JSON): a crash mid-request gives UNAVAILABLE and a fresh worker next", async () => {
    const inline = (args: string[]): RemoteAction => keyed(probeAction("buildbuddy-json", args, {}, ["--host=inline"]), "inline");
    await bb.execute(inline(["--echo=warm"]));
    const crashed = await bb.execute(inline(["--crash"]));
    expect(crashed.status.code).toBe("UNAVAILABLE");
    const next = await bb.execute(inline(["--echo=back"]));
    expect(next.execution.workerStarted).toBe(true);
    expect(diagnostics(next)).toEqual(["back"]);
  });
});

describe("BuildBuddy runners (§4.2)", () => {
  const bb = useExecutor("buildbuddy-proto");
  const strict = useExecutor("buildbuddy-proto", { discardRunnerOnFailure: true });

  it("one task per runner: concurrent tasks with one key get separate runners and workers, which are then both reused", async () => {
    const action = (args: string[]): RemoteAction => keyed(probeAction("buildbuddy-proto", args, {}, ["--host=inline"]), "concurrent");
    const [a, b] = await Promise.all([bb.execute(action(["--pid", "--sleep=1000"])), bb.execute(action(["--pid", "--sleep=1000"]))]);
    expect(pidOf(a)).not.toBe(pidOf(b));
    const [c, d] = await Promise.all([bb.execute(action(["--pid", "--sleep=500"])), bb.execute(action(["--pid", "--sleep=500"]))]);
    expect(new Set([pidOf(c), pidOf(d)])).toEqual(new Set([pidOf(a), pidOf(b)]));
    expect([c.execution.workerStarted, d.execution.workerStarted]).toEqual([false, false]);
  });

  it("§4.5 open point, strict reading: with discardRunnerOnFailure a non-zero exit costs the warm worker", async () => {
    const first = await strict.execute(probeAction("buildbuddy-proto", ["--exit=1"]));
    expect(first.exitCode).toBe(1);
    const next = await strict.execute(probeAction("buildbuddy-proto", ["--echo=x"]));
    expect(next.execution.workerStarted).toBe(true);
  });
});

describe("BuildBuddy, anonymous builds (§4.1)", () => {
  const bb = useExecutor("buildbuddy-proto", { authenticated: false });
  it("recycle-runner without an API key is rejected with INVALID_ARGUMENT", async () => {
    const result = await bb.execute(probeAction("buildbuddy-proto", ["--echo=x"]));
    expect(result.status.code).toBe("INVALID_ARGUMENT");
    expect(result.execution.path).toBe("not-run");
  });
});
