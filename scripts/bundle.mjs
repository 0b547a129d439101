// Builds dist/worker-bridge.mjs: the bridge and its runtime dependencies (@grpc/grpc-js,
// @bufbuild/protobuf, the generated protocol code) in one file that runs from any directory with
// nothing next to it — what a remote action's input root holds. TypeScript stays outside: the tsc
// tool loads it at run time from the project's node_modules (or --typescript DIR).
//
// Then sets up the demos (all git-ignored): copies the bundle to bazel-demo/tools/ and
// buck2-demo/tools/, where they declare it as an action input, and links this repository's
// TypeScript package as bazel-demo/node_modules/typescript, which its //ts targets declare as inputs.
import { build } from "esbuild";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Compiled by `tsc -p tsconfig.build.json`, which `npm run build` runs first.
const { BUILD_ID_FILE, BUNDLE_DIGEST_PREFIX, embedBundleDigest, treeDigest } = await import("../dist/daemon/build-id.js");
const { nativeSha256 } = await import("../dist/daemon/native-sha256.js");

// The package's identity (docs/daemon.md, "The key"): clients read it instead of hashing dist/.
writeFileSync(join(root, "dist", BUILD_ID_FILE), `${JSON.stringify({ digest: treeDigest(join(root, "dist"), (p) => nativeSha256(readFileSync(p))) })}\n`);
const out = join(root, "dist", "worker-bridge.mjs");
const demoCopies = [join(root, "bazel-demo", "tools", "worker-bridge.mjs"), join(root, "buck2-demo", "tools", "worker-bridge.mjs")];

await build({
  entryPoints: [join(root, "src", "bundle-main.ts")],
  outfile: `${out}.tmp`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["typescript"],
  define: { WORKER_BRIDGE_SINGLE_FILE: "true" },
  // CommonJS dependencies (grpc-js) call require() for Node's built-ins; an ES module has none.
  banner: {
    js: [
      "#!/usr/bin/env node",
      // Filled in below with the bundle's own content digest (src/daemon/build-id.ts).
      `${BUNDLE_DIGEST_PREFIX}${"0".repeat(64)}";`,
      'import { createRequire as __workerBridgeCreateRequire } from "node:module";',
      "const require = __workerBridgeCreateRequire(import.meta.url);",
    ].join("\n"),
  },
  legalComments: "eof",
  logLevel: "warning",
});
writeFileSync(`${out}.tmp`, embedBundleDigest(readFileSync(`${out}.tmp`), nativeSha256).bytes);
chmodSync(`${out}.tmp`, 0o755);
// Replace atomically: a worker starting now reads either the old file or the new one, never half.
renameSync(`${out}.tmp`, out);

for (const copy of demoCopies) {
  if (!existsSync(dirname(copy))) continue;
  copyFileSync(out, `${copy}.tmp`);
  chmodSync(`${copy}.tmp`, 0o755);
  renameSync(`${copy}.tmp`, copy);
}
const demoTypeScript = join(root, "bazel-demo", "node_modules", "typescript");
if (existsSync(join(root, "node_modules", "typescript")) && !existsOrDangling(demoTypeScript)) {
  mkdirSync(dirname(demoTypeScript), { recursive: true });
  symlinkSync(join("..", "..", "node_modules", "typescript"), demoTypeScript);
}

function existsOrDangling(path) {
  try {
    return lstatSync(path) !== undefined;
  } catch {
    return false;
  }
}

const kib = (statSync(out).size / 1024).toFixed(0);
process.stdout.write(`bundle: ${relative(root, out)} (${kib} KiB), copied to ${demoCopies.map((c) => relative(root, c)).join(", ")}\n`);
