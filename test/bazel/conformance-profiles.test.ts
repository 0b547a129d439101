import { afterEach, describe, expect, it } from "vitest";
import { startMarker } from "../support/job-started.js";
import { PROFILES, killAllWorkers, type Request } from "./harness/fake-bazel.js";
import { sleep, startProbeWorker, stopCleanly } from "./harness/probe-worker.js";

// Conformance of the Bazel front door against a faithful fake Bazel (docs/protocol/bazel-worker.md §12),
// every scenario that applies to all request encodings, once per profile. Scenario numbers refer
// to §12.5.

afterEach(() => killAllWorkers());

const start = startProbeWorker;
const finish = stopCleanly;

describe.each(PROFILES)("profile %s", (profile) => {
  it("§12.5.1 a request split at every byte boundary decodes the same", async () => {
    const w = start(profile);
    const req: Request = { arguments: ["--echo=split é", "--exit=0"], inputs: [{ path: "a/b.txt", digest: Buffer.from("5891b5") }] };
    const bytes = w.encode(req);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = w.expect(req);
      w.writeRaw(bytes.subarray(0, cut));
      // A gap, not a synchronisation: it lets the halves reach the worker as separate reads.
      await sleep(1);
      w.writeRaw(bytes.subarray(cut));
      const r = await p;
      expect(r.output, `cut at ${cut}\n${w.diagnostics()}`).toBe("split é");
    }
    await finish(w);
  });

  it("§12.5.1 several requests in a single chunk are all answered, in order (singleplex)", async () => {
    const w = start(profile);
    const reqs = [1, 2, 3, 4, 5].map((i) => ({ arguments: [`--echo=r${i}`] }));
    const answers = reqs.map((r) => w.expect(r));
    w.writeRaw(Buffer.concat(reqs.map((r) => w.encode(r))));
    expect((await Promise.all(answers)).map((r) => r.output)).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    await finish(w);
  });

  it("§12.5.13 a tool failure is a non-zero exitCode with diagnostics, and the next request is served", async () => {
    const w = start(profile);
    const bad = await w.request({ arguments: ["--echo=diagnostic text", "--exit=3"] });
    expect(bad).toMatchObject({ exitCode: 3, output: "diagnostic text" });
    const thrown = await w.request({ arguments: ["--throw=kaboom"] });
    expect(thrown.exitCode).toBe(1);
    expect(thrown.output).toMatch(/kaboom/);
    const ok = await w.request({ arguments: ["--echo=still alive"] });
    expect(ok).toMatchObject({ exitCode: 0, output: "still alive" });
    await finish(w);
  });

  it("§12.5.14 negative exit codes survive the wire", async () => {
    const w = start(profile);
    expect((await w.request({ arguments: ["--exit=-1"] })).exitCode).toBe(-1);
    expect((await w.request({ arguments: ["--exit=-2147483648"] })).exitCode).toBe(-2147483648);
    await finish(w);
  });

  it("§12.5.9 non-ASCII arguments and HTML-safe escapes (\\u003d) round-trip", async () => {
    const w = start(profile);
    const text = "é 日本語 🎉 a=b <x> & 'q'";
    expect((await w.request({ arguments: [`--echo=${text}`] })).output).toBe(text);
    await finish(w);
  });

  it("§12.5.10 a stray console.log inside a request does not corrupt stdout; it lands in that request's output", async () => {
    const w = start(profile);
    const r = await w.request({ arguments: ["--stdout=stray print", "--stderr=stray error", "--echo=result"] });
    expect(r.output).toContain("stray print");
    expect(r.output).toContain("stray error");
    expect(r.output).toContain("result");
    await finish(w);
  });

  it("§12.5.8 large messages: > 1 MiB of inputs and an argument over 64 KiB", async () => {
    const w = start(profile);
    const inputs = Array.from({ length: 15_000 }, (_, i) => ({
      path: `external/npm/node_modules/pkg${i}/index.js`,
      digest: Buffer.from("a".repeat(64)),
    }));
    const long = "x".repeat(70_000);
    const r = await w.request({ arguments: [`--echo=${long}`], inputs });
    expect(w.encode({ inputs }).length).toBeGreaterThan(1024 * 1024);
    expect(r.output).toBe(long);
    await finish(w);
  });

  it("§12.5.7 an empty request and empty arguments get a well-formed default answer", async () => {
    const w = start(profile);
    const r = await w.request({});
    expect(r).toMatchObject({ exitCode: 0, output: "" });
    await finish(w);
  });

  it("§12.5.11 stdin EOF exits 0 within the deadline, also with a request in flight", async () => {
    const w = start(profile, { extra: ["--shutdown-grace-ms=500"] });
    const running = startMarker();
    const hung = w.request({ arguments: [running.arg, "--hang"] }).catch(() => undefined);
    await running.reached();
    const exit = await w.closeStdin(4000);
    await hung;
    expect(exit.code, w.diagnostics()).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it("§12.5.11 SIGTERM gives a prompt exit", async () => {
    const w = start(profile);
    await w.request({ arguments: ["--echo=warm"] });
    w.child.kill("SIGTERM");
    const exit = await Promise.race([w.exited, sleep(4000).then(() => "timeout" as const)]);
    expect(exit, w.diagnostics()).not.toBe("timeout");
    expect(w.violations).toEqual([]);
  });
});

