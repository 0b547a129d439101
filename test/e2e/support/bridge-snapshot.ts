import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BazelWorker } from "../../support/bazel-client/index.js";

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
async function oneJsonRequest(cli: string): Promise<{ ok: boolean; detail: string }> {
  const worker = new BazelWorker({ argv: [cli, "--tool", "probe", "--protocol=json", "--persistent_worker"], wire: "json", watchdogMs: 30_000 });
  try {
    const answer = worker.response(0, 30_000);
    worker.send({ arguments: ["--echo=snapshot-ok"], requestId: 0 });
    const r = await answer;
    const ok = r.exitCode === 0 && r.output === "snapshot-ok";
    if (ok) worker.closeStdin();
    return { ok, detail: `response ${JSON.stringify(r)}; stderr: ${worker.stderr.slice(-2000)}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    if (worker.exit === undefined && worker.child.stdin.writable) worker.killTree();
  }
}
