import { readFileSync, statSync } from "node:fs";
import { bundleContentDigest, treeDigest } from "./build-id.js";
import { nativeSha256 } from "./native-sha256.js";

/**
 * The daemon's check that a client's bridge really is the build its key names. A client claims the
 * digest fixed at build time (build-id.ts) without hashing; a bundle or `dist/` edited after its
 * build still claims the old one. The daemon, warm, re-hashes the client's bridge and refuses a
 * mismatch, so it never answers for code other than its own. Digests are cached per file by
 * (device, inode, size, mtime, ctime): any write changes ctime, so an unchanged tuple is an
 * unchanged file and a warm request costs a few stat calls.
 */
/** Every action's copy of the bundle is a new path: keep the most recent ones only. */
const MAX_CACHED_FILES = 2048;

export class BridgeVerifier {
  private readonly cache = new Map<string, { stamp: string; digest: string }>();

  constructor(
    private readonly kind: "bundle" | "package",
    private readonly expected: string,
  ) {}

  /** undefined when the bridge at `location` is the expected build, else why not. */
  check(location: string): string | undefined {
    let actual: string;
    try {
      actual = this.kind === "bundle" ? this.fileDigest(location, (b) => bundleContentDigest(b, nativeSha256))
          : treeDigest(location, (p) => this.fileDigest(p, nativeSha256));
    } catch (err) {
      return `cannot read the client's bridge ${location}: ${(err as Error).message}`;
    }
    if (actual === this.expected) return undefined;
    return `the client's bridge ${location} is not the build it claims (edited after it was built?); rebuild it with 'npm run build'`;
  }

  private fileDigest(path: string, digest: (bytes: Buffer) => string): string {
    const s = statSync(path, { bigint: true });
    const stamp = `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    const hit = this.cache.get(path);
    if (hit !== undefined && hit.stamp === stamp) return hit.digest;
    const d = digest(readFileSync(path));
    // Stat again after reading: a file written while it was read is not cached.
    const after = statSync(path, { bigint: true });
    if (`${after.dev}:${after.ino}:${after.size}:${after.mtimeNs}:${after.ctimeNs}` === stamp) {
      this.cache.delete(path);
      if (this.cache.size >= MAX_CACHED_FILES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(path, { stamp, digest: d });
    }
    return d;
  }
}
