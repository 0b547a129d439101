import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { singleFileBuild } from "../single-file-build.js";

/**
 * The running bridge, named by its content (docs/daemon.md, "The key"). A bridge that travels as
 * an action input sits at a new path in every sandbox or remote build directory; by content, every
 * copy of one build is the same bridge and shares one daemon.
 */
export type RunningBridge =
  /** The single-file build: one file, copied where the daemon can run it (stage-bridge.ts). */
  | { readonly kind: "bundle"; readonly file: string; readonly digest: string }
  /** An installed package: `dist/`, which stays where it is; the daemon runs its `cli.js`. */
  | { readonly kind: "package"; readonly dir: string; readonly entry: string; readonly digest: string };

let running: RunningBridge | undefined;

export function runningBridge(): RunningBridge {
  if (running === undefined) {
    if (singleFileBuild) {
      const file = fileURLToPath(import.meta.url);
      running = { kind: "bundle", file, digest: sha256(readFileSync(file)) };
    } else {
      const dir = fileURLToPath(new URL("..", import.meta.url));
      running = { kind: "package", dir, entry: join(dir, "cli.js"), digest: treeDigest(dir) };
    }
  }
  return running;
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Every module of the package (sorted relative paths and contents): a rebuild changes it. */
function treeDigest(dir: string): string {
  const hash = createHash("sha256");
  for (const f of modules(dir, "").sort()) {
    hash.update(`${f}\0`);
    hash.update(sha256(readFileSync(join(dir, f))));
  }
  return hash.digest("hex");
}

// By hand: Node 20's `readdirSync(dir, { recursive: true })` took 9 ms here, this walk under 1 ms.
function modules(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...modules(dir, rel));
    else if (entry.isFile() && /\.(js|ts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}
