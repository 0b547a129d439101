// What makes two TypeScript installs interchangeable. When TypeScript is itself an action input,
// every sandbox or remote build directory brings its own copy at a new path; a long-lived tool
// process must recognise it as the compiler it already has loaded, or it loads (and keeps) one
// more copy per action and nothing is ever warm. Two installs are the same compiler when their
// version, package.json, main module and default lib files (lib.*.d.ts, which the compiler reads
// next to its main module) are byte-identical. Digests are remembered by (device, inode, size,
// mtime), so a build directory of hard links (Buildbarn's native build directories, a Bazel
// execroot) is recognised from a few stat calls, and a fresh copy is hashed once.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface CompilerFiles {
  /** The module `require(dir)` loads. */
  readonly main: string;
  /**
   * Where a one-shot tsc of this install finds its default lib files: next to its main module,
   * symlinks resolved (Node resolves them for the module it runs), as `getDefaultLibFilePath` does.
   */
  readonly libDir: string;
  /** Equal for byte-identical installs of the same version, wherever they are. */
  readonly identity: string;
}

/** Bounds the digest memo: a fresh copy per action adds one entry per file (about 100). */
const MAX_REMEMBERED_DIGESTS = 8192;
const digests = new Map<string, string>();

/** Files hashed (not found in the memo) since the process started: for tests and notes. */
export const identityStats = { hashedFiles: 0 };

function fileDigest(path: string): string {
  const st = statSync(path, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  const known = digests.get(key);
  if (known !== undefined) return known;
  const digest = createHash("sha256").update(readFileSync(path)).digest("hex");
  identityStats.hashedFiles++;
  if (digests.size >= MAX_REMEMBERED_DIGESTS) digests.clear();
  digests.set(key, digest);
  return digest;
}

const DEFAULT_LIB = /^lib\..*\.d\.ts$/;

export function compilerFiles(dir: string, version: string): CompilerFiles {
  const manifest = join(dir, "package.json");
  const main = createRequire(manifest).resolve(dir);
  const libDir = dirname(realpathSync(main));
  const hash = createHash("sha256").update(`${version}\0`);
  hash.update(`package.json\0${fileDigest(manifest)}\0`);
  // Its name comes from package.json ("main"), hashed above; where it is found is not identity.
  hash.update(`main\0${fileDigest(main)}\0`);
  for (const name of readdirSync(libDir).filter((n) => DEFAULT_LIB.test(n)).sort()) {
    hash.update(`${name}\0${fileDigest(join(libDir, name))}\0`);
  }
  return { main, libDir, identity: hash.digest("hex") };
}
