import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A private copy of the built bridge (`package.json`, `dist/`, and a symlink to `node_modules`)
 * under `root`. Long e2e runs point Bazel's workers at it (`--define=worker_bridge_repo=<dir>`), so
 * a concurrent `npm run build` in the same working tree, which rewrites dist/ file by file, cannot
 * change the bridge halfway through a test. Returns the snapshot's root, which has the same layout
 * as the repository.
 */
export async function snapshotBridge(repoRoot: string, root: string): Promise<string> {
  const dir = join(root, "worker-bridge");
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    cpSync(join(repoRoot, "package.json"), join(dir, "package.json"));
    cpSync(join(repoRoot, "dist"), join(dir, "dist"), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    // The copy may have caught a build in progress: answer one request as a persistent worker,
    // with the default tool host, before trusting it.
    const check = await oneJsonRequest(join(dir, "dist", "cli.js"));
    if (check.ok) return dir;
    lastError = check.detail;
    await sleep(2000);
  }
  throw new Error(`could not snapshot a working bridge from ${repoRoot}/dist (is a build running?): ${lastError}`);
}

/** Sends `--echo=snapshot-ok` to `cli --persistent_worker --protocol=json`; killed by PID after 30 s. */
function oneJsonRequest(cli: string): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, "--tool", "probe", "--protocol=json", "--persistent_worker"], {
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
