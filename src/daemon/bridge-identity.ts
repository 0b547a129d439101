import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { singleFileBuild } from "../single-file-build.js";
import { bundleContentDigest, readBuildId, treeDigest } from "./build-id.js";

/** Set by the bundle's banner (scripts/bundle.mjs); absent in the package build. */
declare const __workerBridgeBuildDigest: string | undefined;

/**
 * The running bridge, named by its content (docs/daemon.md, "The key"). A bridge that travels as
 * an action input sits at a new path in every sandbox or remote build directory; by content, every
 * copy of one build is the same bridge and shares one daemon. The digest is the one fixed at build
 * time (build-id.ts): a client only claims it; the daemon checks it (verify-bridge.ts). Without
 * one (a tree built by `tsc` alone) it is hashed here, slowly, but the same.
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
      const embedded = typeof __workerBridgeBuildDigest === "string" ? __workerBridgeBuildDigest : undefined;
      running = { kind: "bundle", file, digest: embedded ?? bundleContentDigest(readFileSync(file)) };
    } else {
      const dir = fileURLToPath(new URL("..", import.meta.url));
      running = { kind: "package", dir, entry: join(dir, "cli.js"), digest: readBuildId(dir) ?? treeDigest(dir) };
    }
  }
  return running;
}

/** Where the running bridge's code is: what a daemon verifies against the claimed digest. */
export function bridgeLocation(bridge: RunningBridge): string {
  return bridge.kind === "bundle" ? bridge.file : bridge.dir;
}
