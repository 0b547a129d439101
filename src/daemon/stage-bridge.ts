import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runningBridge } from "./bridge-identity.js";
import { bundleContentDigest } from "./build-id.js";
import { nativeSha256 } from "./native-sha256.js";
import { ensurePrivateDir } from "./daemon-dir.js";

/**
 * The file a new daemon runs. The single-file bridge usually sits in an action's own directory
 * (a sandbox, a remote build directory), deleted when the action ends, while the daemon and the
 * tool processes it forks from its own file outlive the action: so the daemon runs a copy in the
 * daemon directory, named by content (`bridges/worker-bridge-<sha256>.mjs`), which every action's
 * copy of the same build shares. An installed package stays put: the daemon runs its `cli.js`.
 * Returns the path, or why there is none.
 */
export function daemonEntryPoint(daemonDir: string): { path: string } | { reason: string } {
  const bridge = runningBridge();
  if (bridge.kind === "package") return { path: bridge.entry };
  const dir = join(daemonDir, "bridges");
  const target = join(dir, `worker-bridge-${bridge.digest}.mjs`);
  try {
    ensurePrivateDir(dir, process.getuid!());
    // Written only by rename, so a file there is whole; the check catches anything else.
    if (existsSync(target) && bundleContentDigest(readFileSync(target), nativeSha256) === bridge.digest) return { path: target };
    const bytes = readFileSync(bridge.file);
    if (bundleContentDigest(bytes, nativeSha256) !== bridge.digest) {
      return { reason: `the bridge file ${bridge.file} is not the build it claims (edited after it was built, or rebuilt while this client ran)` };
    }
    const temp = `${target}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, bytes, { mode: 0o600 });
      renameSync(temp, target);
    } finally {
      if (existsSync(temp)) unlinkSync(temp);
    }
    return { path: target };
  } catch (err) {
    return { reason: `cannot copy the bridge to ${dir}: ${(err as Error).message}` };
  }
}
