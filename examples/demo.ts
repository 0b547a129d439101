// `npm run demo`: one small build through the bridge in every mode, with the same 8 actions —
// one-shot (a process per action, as Bazel's local strategy or a remote executor without worker
// support runs it), a Bazel persistent worker driven by the fake-Bazel harness, a Buck2 local
// worker driven by the fake-Buck2 harness, and real Bazel 4.2.3 when it is installed.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeBazel, killAllWorkers } from "../test/bazel/harness/fake-bazel.js";
import { FakeBuck2 } from "../test/buck2/harness/index.js";
import { formatBazelDemo, runBazelDemo } from "../test/e2e/bazel-runner.js";
import { CLI } from "../test/support/paths.js";

const ACTIONS = 8;

interface Row {
  mode: string;
  actions: number;
  processes: number;
  totalMs: number;
  outputsOk: boolean;
}

/** Each action writes out/<i>.txt with its own text and reports the pid that ran it. */
function writeArgfiles(root: string): { argfile: string; output: string; text: string }[] {
  return Array.from({ length: ACTIONS }, (_, i) => {
    const argfile = `action-${i}.args`;
    const output = `out/${i}.txt`;
    const text = `demo output ${i}`;
    writeFileSync(join(root, argfile), `--write=${output}=${text}\n--pid\n`);
    return { argfile, output, text };
  });
}

function outputsOk(root: string, actions: { output: string; text: string }[]): boolean {
  return actions.every((a) => {
    try {
      return readFileSync(join(root, a.output), "utf8") === a.text;
    } catch {
      return false;
    }
  });
}

function pidsOf(outputs: string[]): number {
  return new Set(outputs.map((o) => /pid=(\d+)/.exec(o)?.[1])).size;
}

async function oneShot(): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), "demo-oneshot-"));
  const actions = writeArgfiles(root);
  const start = performance.now();
  const outputs: string[] = [];
  for (const a of actions) {
    outputs.push(
      await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, "--tool", "probe", `@${a.argfile}`], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (c: Buffer) => (err += c.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(err) : reject(new Error(`one-shot exited ${code}: ${err}`))));
      }),
    );
  }
  return { mode: "one-shot (process per action)", actions: ACTIONS, processes: pidsOf(outputs), totalMs: performance.now() - start, outputsOk: outputsOk(root, actions) };
}

async function bazelWorker(multiplex: boolean): Promise<Row> {
  const worker = new FakeBazel({ profile: "bazel-4.2.3-proto", startupArgs: ["--tool", "probe"], multiplex });
  const actions = writeArgfiles(worker.execroot);
  const start = performance.now();
  try {
    const requests = actions.map((a, i) => worker.request({ arguments: [`@${a.argfile}`], requestId: multiplex ? i + 1 : 0 }));
    const responses = await Promise.all(requests);
    const totalMs = performance.now() - start;
    if (responses.some((r) => r.exitCode !== 0) || worker.violations.length > 0) throw new Error(worker.diagnostics());
    return {
      mode: `Bazel worker, proto ${multiplex ? "multiplex" : "singleplex"} (fake Bazel)`,
      actions: ACTIONS,
      processes: pidsOf(responses.map((r) => r.output)),
      totalMs,
      outputsOk: outputsOk(worker.execroot, actions),
    };
  } finally {
    await worker.stop();
  }
}

async function buck2Worker(): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), "demo-buck2-"));
  const actions = writeArgfiles(root);
  const buck2 = new FakeBuck2({ projectRoot: root, inheritedEnv: process.env });
  const worker = buck2.defineWorker({ exe: [process.execPath, CLI, "--tool", "probe"] });
  const start = performance.now();
  try {
    const results = await Promise.all(actions.map((a, i) => buck2.runAction({ worker, args: [`@${a.argfile}`], outputs: [a.output], name: `demo-${i}` })));
    const totalMs = performance.now() - start;
    const failed = results.find((r) => r.kind !== "success");
    if (failed) throw new Error(`Buck2 action failed: ${JSON.stringify(failed, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
    const stderrs = results.map((r) => ("stderr" in r ? r.stderr : ""));
    return { mode: "Buck2 local worker, Execute (fake Buck2)", actions: ACTIONS, processes: pidsOf(stderrs), totalMs, outputsOk: outputsOk(root, actions) };
  } finally {
    await buck2.endCommand();
  }
}

async function main(): Promise<void> {
  console.log(`worker-bridge demo: ${ACTIONS} actions per mode, tool = probe (writes one output file per action)\n`);
  const rows: Row[] = [];
  for (const run of [oneShot, () => bazelWorker(false), () => bazelWorker(true), buck2Worker]) {
    const row = await run();
    rows.push(row);
    console.log(`ran: ${row.mode}`);
  }
  console.log("");
  console.log("| mode | actions | processes that ran them | total ms | ms/action | outputs correct |");
  console.log("|---|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(`| ${r.mode} | ${r.actions} | ${r.processes} | ${r.totalMs.toFixed(0)} | ${(r.totalMs / r.actions).toFixed(1)} | ${r.outputsOk ? "yes" : "NO"} |`);
  }
  console.log("");
  const bazel = await runBazelDemo({ log: (l) => console.log(`$ ${l}`) });
  for (const line of formatBazelDemo(bazel)) console.log(line);
  if (rows.some((r) => !r.outputsOk)) process.exitCode = 1;
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAllWorkers());
