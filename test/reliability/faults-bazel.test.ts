// Fault injection across the Bazel front door, in all four shapes Bazel uses it: proto and JSON
// (docs/protocol/bazel-worker.md §2), singleplex and multiplex (docs/protocol/bazel-worker.md §5). Each fault must end in a clear answer or a
// clear exit — never garbage on stdout (docs/protocol/bazel-worker.md §7.1), never a hang, never a lost or doubled answer.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MODES, delay, encodeRequest, killAllWorkers, startWorker, waitForDeath, type BazelWorkerProcess, type Response } from "./helpers/bazel-client.js";
import { startMarker } from "../support/job-started.js";
import { processHostUnavailable } from "./helpers/process-host.js";

const FAULT_TOOL = fileURLToPath(new URL("./fixtures/fault-tool.mjs", import.meta.url));

let noProcessHost: string | undefined;
let dir: string;

beforeAll(async () => {
  noProcessHost = await processHostUnavailable();
  if (noProcessHost) console.warn(`[faults-bazel] process-host cases skipped: ${noProcessHost}`);
  dir = await mkdtemp(join(tmpdir(), "wb-faults-bazel-"));
});
afterAll(async () => {
  killAllWorkers(true);
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => killAllWorkers());

/** The stream stayed a stream of whole, well-formed WorkResponses (docs/protocol/bazel-worker.md §7.1). */
function expectCleanStdout(w: BazelWorkerProcess): void {
  expect(w.garbage).toBeUndefined();
  if (w.exit !== undefined) expect(w.unfinishedResponse()).toBeUndefined();
}

/** Exactly one response per id, and no response for an id never sent (docs/protocol/bazel-worker.md §5.2). */
function expectOneEach(w: BazelWorkerProcess, ids: readonly number[]): void {
  const got = w.responses.map((r) => r.requestId).sort((a, b) => a - b);
  expect(got).toEqual([...ids].sort((a, b) => a - b));
}

/** The next `n` responses after the `base` ones already seen (shared workers answer many tests). */
async function nextResponses(w: BazelWorkerProcess, base: number, n: number, timeoutMs = 30_000): Promise<Response[]> {
  return (await w.waitForResponses(base + n, timeoutMs)).slice(base);
}

async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = await readFile(path, "utf8");
      if (text !== "") return text;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await delay(25);
  }
}

describe.each(MODES)("Bazel front door, $name", ({ protocol, multiplex, name }) => {
  const id = (n: number): number => (multiplex ? n : 0);
  const tag = name.replace(" ", "-");
  // Faults after which the worker must keep serving share one worker per host kind: it has to
  // survive all of them in a row (and the suite stays lean). Created lazily by the first user.
  let inlineWorker: BazelWorkerProcess | undefined;
  let processWorker: BazelWorkerProcess | undefined;
  let threadWorker: BazelWorkerProcess | undefined;
  let argfileDir: string;
  beforeAll(async () => {
    argfileDir = await mkdtemp(join(dir, `argfiles-${tag}-`));
    await writeFile(join(argfileDir, "empty.args"), "");
    await writeFile(join(argfileDir, "binary.args"), Buffer.from([0x2d, 0x2d, 0x00, 0xff, 0xfe, 0x0a]));
    await writeFile(join(argfileDir, "self.args"), "--ok\n@self.args\n");
    for (let i = 0; i < 100; i++) await writeFile(join(argfileDir, `d${i}.args`), `@d${i + 1}.args\n`);
    await writeFile(join(argfileDir, "d100.args"), "--ok\n");
  });
  const inline = (): BazelWorkerProcess =>
    (inlineWorker ??= startWorker({ protocol, tool: FAULT_TOOL, args: ["--abort-grace-ms=200"], cwd: argfileDir, shared: true }));
  const processHosted = (): BazelWorkerProcess =>
    (processWorker ??= startWorker({ protocol, tool: FAULT_TOOL, args: ["--host=process", "--abort-grace-ms=200"], cwd: dir, shared: true }));
  // One thread: a later request can only be served once the stuck thread was terminated and replaced.
  const threadHosted = (): BazelWorkerProcess =>
    (threadWorker ??= startWorker({ protocol, tool: FAULT_TOOL, args: ["--host=thread", "--tool-processes=1", "--abort-grace-ms=200"], cwd: dir, shared: true }));

  it("SIGKILL of the tool process mid-request: a clear failure answer, and the worker keeps serving (docs/protocol/bazel-worker.md §5, §7.1)", async (ctx) => {
    if (noProcessHost) {
      console.warn(`[skip] ${ctx.task.name}: ${noProcessHost}`);
      ctx.skip();
    }
    const w = processHosted();
    const base = w.responses.length;
    const pidFile = join(dir, `pid-${tag}`);
    w.send({ requestId: id(1), arguments: [`--pid-file=${pidFile}`, "--ignore-abort"] });
    const toolPid = Number(await waitForFile(pidFile));
    expect(toolPid).not.toBe(w.pid);
    process.kill(toolPid, "SIGKILL");
    const [r] = await nextResponses(w, base, 1);
    expect(r!.requestId).toBe(id(1));
    expect(r!.exitCode).not.toBe(0);
    expect(r!.output).toMatch(/SIGKILL|killed|crash|exited/i);
    w.send({ requestId: id(2), arguments: ["--ok"] });
    const [second] = await nextResponses(w, base + 1, 1);
    expect(second).toMatchObject({ requestId: id(2), exitCode: 0, output: "ok" });
    expectCleanStdout(w);
  });

  it("SIGKILL of the whole worker mid-request (inline host): only whole responses on stdout, the earlier one intact (docs/protocol/bazel-worker.md §7.1)", async () => {
    // With the inline host the tool *is* the worker: killing it must not leave half a response.
    const w = startWorker({ protocol });
    w.send({ requestId: id(1), arguments: ["--echo=before"] });
    await w.waitForResponses(1);
    const running = startMarker();
    w.send({ requestId: id(2), arguments: [running.arg, "--sleep=30000"] });
    await running.reached();
    w.kill("SIGKILL");
    const exit = await w.waitForExit(10_000);
    expect(exit.signal).toBe("SIGKILL");
    expect(w.responses).toEqual([{ requestId: id(1), exitCode: 0, output: "before", wasCancelled: false }]);
    expectCleanStdout(w);
  });

  it("an endless tool that ignores cancellation (Bazel has no per-request timeout): answered with was_cancelled by the dispatcher backstop, and the worker keeps serving (docs/protocol/bazel-worker.md §6)", async () => {
    const w = inline();
    const base = w.responses.length;
    // Warm up first: a cancel that lands before the request starts is answered without running it.
    w.send({ requestId: id(3), arguments: ["--ok"] });
    await nextResponses(w, base, 1);
    const pidFile = join(dir, `pid-ignore-abort-${tag}`);
    w.send({ requestId: id(1), arguments: [`--pid-file=${pidFile}`, "--ignore-abort"] });
    await waitForFile(pidFile);
    w.send({ requestId: id(1), cancel: true });
    const [r] = await nextResponses(w, base + 1, 1, 20_000);
    expect(r!.requestId).toBe(id(1));
    expect(r!.wasCancelled).toBe(true);
    expect(r!.output).toMatch(/did not stop within/);
    w.send({ requestId: id(2), arguments: ["--ok"] });
    expect((await nextResponses(w, base + 2, 1))[0]).toMatchObject({ requestId: id(2), exitCode: 0, output: "ok", wasCancelled: false });
    expectCleanStdout(w);
  });

  it("an endless CPU loop, then a cancel (process host): the tool process is killed after the abort grace, the cancel answered, the worker keeps serving (docs/protocol/bazel-worker.md §6)", async (ctx) => {
    if (noProcessHost) {
      console.warn(`[skip] ${ctx.task.name}: ${noProcessHost}`);
      ctx.skip();
    }
    const w = processHosted();
    const base = w.responses.length;
    const pidFile = join(dir, `spin-pid-${tag}`);
    w.send({ requestId: id(1), arguments: [`--pid-file=${pidFile}`, "--spin"] });
    const toolPid = Number(await waitForFile(pidFile));
    w.send({ requestId: id(1), cancel: true });
    const [r] = await nextResponses(w, base, 1, 20_000);
    expect(r!.requestId).toBe(id(1));
    expect(r!.wasCancelled).toBe(true);
    // The spinning process cannot stop itself: it must be killed.
    await waitForDeath(toolPid);
    w.send({ requestId: id(2), arguments: ["--ok"] });
    expect((await nextResponses(w, base + 1, 1, 20_000))[0]).toMatchObject({ requestId: id(2), exitCode: 0, output: "ok" });
    expectCleanStdout(w);
  });

  it("an endless CPU loop, then a cancel (thread host): the thread is terminated after the abort grace, the cancel answered, the worker keeps serving (docs/supervisor.md, the thread host)", async () => {
    const w = threadHosted();
    const base = w.responses.length;
    const pidFile = join(dir, `spin-thread-pid-${tag}`);
    w.send({ requestId: id(1), arguments: [`--pid-file=${pidFile}`, "--spin"] });
    // The tool runs inside the worker's own process.
    expect(Number(await waitForFile(pidFile))).toBe(w.pid);
    w.send({ requestId: id(1), cancel: true });
    const [r] = await nextResponses(w, base, 1, 20_000);
    expect(r!.requestId).toBe(id(1));
    expect(r!.wasCancelled).toBe(true);
    expect(r!.output).toMatch(/did not stop within 200 ms of being aborted; tool thread \d+ was killed/);
    w.send({ requestId: id(2), arguments: ["--ok"] });
    expect((await nextResponses(w, base + 1, 1, 20_000))[0]).toMatchObject({ requestId: id(2), exitCode: 0, output: "ok" });
    expectCleanStdout(w);
  });

  it("a tool printing 2 MiB to stdout and 2 MiB to stderr: stdout stays a clean response stream, the output is captured (docs/protocol/bazel-worker.md §3.4, §7.1)", async () => {
    const w = inline();
    const base = w.responses.length;
    const bytesBefore = w.stdoutBytes;
    w.send({ requestId: id(1), arguments: ["--flood=2"] });
    const [r] = await nextResponses(w, base, 1);
    expect(r!.exitCode).toBe(0);
    expect(r!.output).toContain("flooded 2 MiB");
    expect(r!.output.length).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(r!.output).toContain("x".repeat(1000));
    expect(r!.output).toContain("e".repeat(1000));
    w.send({ requestId: id(2), arguments: ["--ok"] });
    expect((await nextResponses(w, base + 1, 1))[0]).toMatchObject({ exitCode: 0, output: "ok" });
    expectCleanStdout(w);
    // Everything on stdout was the two responses, not one stray byte: ~4 MiB arrived and all of it
    // decoded as exactly these responses.
    expect(w.responses).toHaveLength(base + 2);
    expect(w.stdoutBytes - bytesBefore).toBeGreaterThanOrEqual(4 * 1024 * 1024);
  });

  it("a tool writing straight to fd 1 (process host): not one byte reaches the protocol stream (docs/protocol/bazel-worker.md §7.1)", async (ctx) => {
    if (noProcessHost) {
      console.warn(`[skip] ${ctx.task.name}: ${noProcessHost}`);
      ctx.skip();
    }
    const w = processHosted();
    const base = w.responses.length;
    w.send({ requestId: id(1), arguments: ["--raw-fd1=GARBAGE-ON-FD-1\n", "--ok"] });
    const [r] = await nextResponses(w, base, 1);
    expect(r!.exitCode).toBe(0);
    expectCleanStdout(w);
  });

  it("stdin closed in the middle of a frame: clear error on stderr, exit 1, no hang, the request before it answered once (docs/protocol/bazel-worker.md §2)", async () => {
    const w = startWorker({ protocol });
    w.send({ requestId: id(1), arguments: ["--sleep=300", "--echo=first"] });
    const next = encodeRequest(protocol, { requestId: id(2), arguments: ["--echo=never"] });
    w.sendRaw(next.subarray(0, Math.max(1, Math.floor(next.length / 2))));
    w.closeStdin();
    const exit = await w.waitForExit(15_000);
    expect(exit.code).toBe(1);
    expect(w.stderr).toMatch(/truncated/);
    expect(w.stderr).toMatch(/unparseable (proto|json) WorkRequest/);
    expectOneEach(w, [id(1)]);
    expect(w.responses[0]).toMatchObject({ exitCode: 0, output: "first" });
    expectCleanStdout(w);
  });

  it("SIGTERM during load: prompt exit 0, every accepted request answered once, no garbage (docs/protocol/bazel-worker.md §4.4, §5)", async () => {
    const w = startWorker({ protocol });
    const ids: number[] = [];
    if (multiplex) {
      for (let i = 1; i <= 30; i++) {
        ids.push(i);
        w.send({ requestId: i, arguments: [`--sleep=${50 + ((i * 37) % 400)}`, `--echo=r${i}`] });
      }
      await w.waitForResponses(1, 20_000);
    } else {
      // Singleplex: Bazel sends one request at a time, so one is in flight when the signal comes.
      for (let i = 0; i < 3; i++) {
        w.send({ arguments: ["--echo=x"] });
        await w.waitForResponses(i + 1);
        ids.push(0);
      }
      const running = startMarker();
      w.send({ arguments: [running.arg, "--sleep=20000"] });
      ids.push(0);
      await running.reached();
    }
    w.kill("SIGTERM");
    const exit = await w.waitForExit(10_000);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(8_000); // default --shutdown-grace-ms is 2000; generous for a loaded box
    expectOneEach(w, ids);
    expectCleanStdout(w);
  });

  it("a request larger than --max-message-mb: a clear error naming the limit, exit 1 (a length-prefixed stream cannot resync) (docs/protocol/bazel-worker.md §2)", async () => {
    const w = startWorker({ protocol, args: ["--max-message-mb=1"] });
    w.send({ requestId: id(1), arguments: ["--echo=small"] });
    await w.waitForResponses(1);
    w.send({ requestId: id(2), arguments: [`--echo=${"y".repeat(2 * 1024 * 1024)}`] });
    const exit = await w.waitForExit(15_000);
    expect(exit.code).toBe(1);
    expect(w.stderr).toContain("--max-message-mb");
    expect(w.stderr).toContain(String(1024 * 1024));
    expectOneEach(w, [id(1)]);
    expectCleanStdout(w);
  });

  it("argfiles missing, empty, binary, self-referencing, nested 100 deep: a clear error naming the path (empty = zero arguments), and the worker keeps serving (docs/protocol/bazel-worker.md §3.3)", async () => {
    const cwd = argfileDir;
    const w = inline();
    const base = w.responses.length;
    const cases: { args: string[]; exit: number; path?: string; output?: string }[] = [
      { args: ["@missing.args"], exit: 2, path: join(cwd, "missing.args") },
      { args: ["@empty.args"], exit: 0, output: "" },
      { args: ["@binary.args"], exit: 2, path: join(cwd, "binary.args") },
      { args: ["@self.args"], exit: 2, path: join(cwd, "self.args") },
      { args: ["@d0.args"], exit: 2, path: join(cwd, "d32.args") },
      { args: ["--ok"], exit: 0, output: "ok" },
    ];
    if (multiplex) cases.forEach((c, i) => w.send({ requestId: i + 1, arguments: c.args }));
    const byId = new Map<number, { exitCode: number; output: string }>();
    for (let i = 0; i < cases.length; i++) {
      if (!multiplex) w.send({ arguments: cases[i]!.args });
      const r = (await w.waitForResponses(base + (multiplex ? cases.length : i + 1)))[base + i]!;
      byId.set(multiplex ? r.requestId : i + 1, r);
    }
    cases.forEach((c, i) => {
      const r = byId.get(i + 1)!;
      expect(r.exitCode, JSON.stringify(c.args)).toBe(c.exit);
      if (c.path !== undefined) {
        expect(r.output).toContain(c.path);
        expect(r.output).toMatch(/^worker-bridge: /);
      }
      if (c.output !== undefined) expect(r.output).toBe(c.output);
    });
    expect(byId.get(3)!.output).toMatch(/binary/);
    expect(byId.get(4)!.output).toMatch(/cycle/);
    expect(byId.get(5)!.output).toMatch(/nested deeper than 32/);
    expectCleanStdout(w);
  });
});
