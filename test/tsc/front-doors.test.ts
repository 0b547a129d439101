// Issue 5 §1: `worker-bridge --tool tsc` through every front door of the built bridge — Bazel proto
// (singleplex, with input digests), Bazel JSON (multiplex), Buck2 Execute and ExecuteStream — each
// answering like a cold tsc across a no-change build, an edit and a type error.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { bridgeExe, BRIDGE_CLI } from "../buck2/harness/index.js";
import { HarnessPool } from "../buck2/helpers.js";
import { BazelWorker, killAllWorkers } from "../support/bazel-client/index.js";
import { coldTsc, listFiles, TS_DIRS, writeTree } from "./harness.js";

const FILES = ["tsconfig.json", "src/a.ts", "src/b.ts"];
const OUTPUTS = ["out/a.js", "out/a.d.ts", "out/b.js", "out/b.d.ts"];
const STEPS = [
  { name: "initial", a: "export const x: number = 1;\n" },
  { name: "no change", a: "export const x: number = 1;\n" },
  { name: "edit", a: "export const x: number = 2;\nexport const added = true;\n" },
  { name: "type error", a: 'export const x: number = "2";\n' },
];

function fixture(root: string): void {
  writeTree(root, {
    "tsconfig.json": JSON.stringify({
      compilerOptions: { outDir: "out", rootDir: "src", declaration: true, strict: true, target: "es2022", module: "nodenext", lib: ["es2022"], types: [] },
      include: ["src"],
    }),
    "src/b.ts": 'import { x } from "./a.js";\nexport const y: number = x + 1;\n',
  });
}

const roots: string[] = [];
afterAll(() => {
  killAllWorkers(true);
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "tsc-front-"));
  roots.push(root);
  fixture(root);
  return root;
}

function outputsOf(root: string): Record<string, string> {
  return Object.fromEntries([...listFiles(join(root, "out"))].map(([p, t]) => [p.slice(root.length + 1), t]));
}

/** Cold tsc for the same project state, in a scratch copy so the worker's directory is untouched. */
function reference(a: string): { exitCode: number; output: string; files: Record<string, string> } {
  const root = newRoot();
  writeFileSync(join(root, "src/a.ts"), a);
  const r = coldTsc(TS_DIRS["5.9"], root, ["-p", "tsconfig.json"], ["out"]);
  return { exitCode: r.exitCode, output: r.output, files: Object.fromEntries(r.files) };
}

function spawnBazelWorker(root: string, protocol: "proto" | "json"): BazelWorker {
  // The watchdog never lets a silent worker hang the suite.
  return new BazelWorker({ argv: [BRIDGE_CLI, "--tool", "tsc", `--protocol=${protocol}`, "--persistent_worker"], wire: protocol, cwd: root, watchdogMs: 170_000 });
}

describe("Bazel", () => {
  test("proto, singleplex, with input digests", async () => {
    const root = newRoot();
    const worker = spawnBazelWorker(root, "proto");
    for (const step of STEPS) {
      writeFileSync(join(root, "src/a.ts"), step.a);
      rmSync(join(root, "out"), { recursive: true, force: true });
      const inputs = FILES.map((p) => ({ path: p, digest: Buffer.from(createHash("sha256").update(readFileSync(join(root, p))).digest("hex")) }));
      const answer = worker.response(0, 170_000);
      worker.send({ arguments: ["-p", "tsconfig.json"], inputs, requestId: 0 });
      const response = await answer;
      const cold = reference(step.a);
      expect(response.output, step.name).toBe(cold.output);
      expect(response.exitCode, step.name).toBe(cold.exitCode);
      expect(outputsOf(root), step.name).toEqual(cold.files);
    }
    worker.closeStdin();
  });

  test("JSON, multiplex: two targets in flight at once", async () => {
    const [r1, r2] = [newRoot(), newRoot()];
    const worker = spawnBazelWorker(r1, "json");
    let id = 1;
    const send = (root: string) => {
      const requestId = id++;
      const answer = worker.response(requestId, 170_000);
      // Each target names its own tsconfig; both share the worker's cwd (r1), as in Bazel's execroot.
      const project = join(root, "tsconfig.json");
      worker.send({ arguments: ["-p", project], inputs: [], requestId });
      return answer;
    };
    for (const step of STEPS) {
      for (const r of [r1, r2]) {
        writeFileSync(join(r, "src/a.ts"), step.a);
        rmSync(join(r, "out"), { recursive: true, force: true });
      }
      const [a, b] = await Promise.all([send(r1), send(r2)]);
      const cold = reference(step.a);
      for (const [root, res] of [[r1, a], [r2, b]] as const) {
        expect(res.exitCode, step.name).toBe(cold.exitCode);
        // Paths in diagnostics are relative to the worker's cwd: r1's appear as in the reference.
        if (root === r1) expect(res.output, step.name).toBe(cold.output);
        else expect(res.output.replaceAll(`../${root.split("/").pop()}/`, ""), step.name).toBe(cold.output);
        expect(outputsOf(root), step.name).toEqual(cold.files);
      }
    }
    worker.closeStdin();
  });
});

describe("Buck2", () => {
  const pool = new HarnessPool();
  afterEach(() => pool.cleanup());

  test.each([
    ["Execute", false],
    ["ExecuteStream", true],
  ] as const)("%s", async (_name, streaming) => {
    const buck2 = pool.create();
    fixture(buck2.projectRoot);
    const worker = buck2.defineWorker({ exe: bridgeExe("--tool", "tsc"), streaming });
    for (const step of STEPS) {
      writeFileSync(join(buck2.projectRoot, "src/a.ts"), step.a);
      const result = await buck2.runAction({ worker, args: ["-p", "tsconfig.json"], outputs: OUTPUTS, name: step.name.replace(" ", "-") });
      const cold = reference(step.a);
      const exitCode = "exitCode" in result ? result.exitCode : -1;
      expect(exitCode, `${step.name}: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`).toBe(cold.exitCode);
      expect("stderr" in result ? result.stderr : "", step.name).toBe(cold.output);
      expect(outputsOf(buck2.projectRoot), step.name).toEqual(cold.files);
    }
    await buck2.endCommand();
  });
});
