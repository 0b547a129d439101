import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A private copy of bazel-demo/ (see privateDemoWorkspace). */
export interface DemoWorkspace {
  /** The workspace directory (run Bazel here). */
  readonly dir: string;
  /** The bundle as the actions name it: relative to the workspace (and to every action's input root). */
  readonly bundle: string;
  dispose(): void;
}

/** What `npm run build` git-ignores in bazel-demo, or Bazel leaves there: never copied. */
const NOT_COPIED = new Set(["node_modules", "user.bazelrc", "worker-bridge.mjs"]);

/**
 * A private copy of the `bazel-demo` workspace in a temp dir, set up as `npm run build` sets up the
 * real one: the single-file bridge copied from `dist/worker-bridge.mjs` to `tools/worker-bridge.mjs`,
 * and `node_modules/typescript` linked to this repository's. Tests build the copy, so that a
 * concurrent `npm run build` in the same tree cannot swap the bridge halfway through a test, and
 * so that they may edit sources. The copied bundle answers one request before it is trusted.
 */
export async function privateDemoWorkspace(repoRoot: string, options: { tmpRoot?: string } = {}): Promise<DemoWorkspace> {
  const root = mkdtempSync(join(options.tmpRoot ?? tmpdir(), "worker-bridge-demo-"));
  const dir = join(root, "bazel-demo");
  const dispose = (): void => rmSync(root, { recursive: true, force: true });
  try {
    const source = join(repoRoot, "bazel-demo");
    cpSync(source, dir, {
      recursive: true,
      // Bazel's convenience symlinks (bazel-bin, bazel-out, ...) sit in the workspace root.
      filter: (src) => src === source || (!NOT_COPIED.has(basename(src)) && !(dirname(src) === source && basename(src).startsWith("bazel-"))),
    });
    const typescript = join(repoRoot, "node_modules", "typescript");
    if (!existsSync(join(typescript, "package.json"))) throw new Error(`${typescript} is missing: run 'npm ci' first`);
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(typescript, join(dir, "node_modules", "typescript"));
    await copyWorkingBundle(join(repoRoot, "dist", "worker-bridge.mjs"), join(dir, "tools", "worker-bridge.mjs"));
  } catch (err) {
    dispose();
    throw err;
  }
  return { dir, bundle: "tools/worker-bridge.mjs", dispose };
}

async function copyWorkingBundle(from: string, to: string): Promise<void> {
  if (!existsSync(from)) throw new Error(`${from} is missing: run 'npm run build' first (npm run test:e2e does)`);
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    copyFileSync(from, to);
    // The copy may have caught a build in progress: answer one request as a persistent worker,
    // with the default (process) tool host, before trusting it.
    const check = await oneJsonRequest(to);
    if (check.ok) return;
    lastError = check.detail;
    await sleep(2000);
  }
  throw new Error(`could not copy a working bundle from ${from} (is a build running?): ${lastError}`);
}

/** Sends `--echo=snapshot-ok` to `bundle --persistent_worker --protocol=json`; killed by PID after 30 s. */
function oneJsonRequest(bundle: string): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, "--tool", "probe", "--protocol=json", "--persistent_worker"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      child.stdin.end();
      if (!ok && child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      resolve({ ok, detail });
    };
    const watchdog = setTimeout(() => finish(false, `no response in 30 s; stderr: ${stderr.slice(-2000)}`), 30_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (!stdout.includes("\n")) return;
      const ok = stdout.includes('"exitCode":0') && stdout.includes("snapshot-ok");
      finish(ok, `response ${stdout.trim()}; stderr: ${stderr.slice(-2000)}`);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("close", (code) => finish(false, `exited ${code} before answering; stderr: ${stderr.slice(-2000)}`));
    child.stdin.write(JSON.stringify({ arguments: ["--echo=snapshot-ok"], requestId: 0 }));
  });
}
