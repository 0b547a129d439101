import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "./sha256.js";

/**
 * The bridge's identity, fixed at build time (docs/daemon.md, "The key"), so that a client reads
 * it instead of hashing 1.3 MiB on every call. The single-file bundle carries it on its second
 * line (`const __workerBridgeBuildDigest = "<sha256>";`, written by scripts/bundle.mjs): the sha256
 * of the bundle with those 64 hex digits zeroed. An installed package carries it in
 * `dist/build-id.json` (`{"digest": ...}`): the tree digest of its modules. The warm daemon
 * re-hashes a client's bridge before answering it (verify-bridge.ts), so a file edited after its
 * build (a stale identity) is refused, never served.
 *
 * Free of `node:crypto` (a client must not pay for loading it): large content takes a `Hasher`,
 * which a warm process passes as `nativeSha256` (native-sha256.ts); both are SHA-256.
 */
export const BUNDLE_DIGEST_PREFIX = 'const __workerBridgeBuildDigest = "';
export const BUILD_ID_FILE = "build-id.json";
const ZEROS = "0".repeat(64);

/** SHA-256 of some bytes, as lowercase hex. */
export type Hasher = (bytes: Uint8Array) => string;

/** Where the bundle's digest sits: right after the first line, or -1 when it has none. */
function digestOffset(bytes: Buffer): number {
  const line2 = bytes.indexOf(10) + 1;
  if (line2 === 0) return -1;
  const prefix = Buffer.from(BUNDLE_DIGEST_PREFIX);
  return bytes.subarray(line2, line2 + prefix.length).equals(prefix) ? line2 + prefix.length : -1;
}

/** The bundle's content digest: its sha256 with the embedded digest zeroed (or whole, without one). */
export function bundleContentDigest(bytes: Buffer, hash: Hasher = sha256Hex): string {
  const at = digestOffset(bytes);
  if (at < 0) return hash(bytes);
  const copy = Buffer.from(bytes);
  copy.write(ZEROS, at, "latin1");
  return hash(copy);
}

/** Writes the bundle's own content digest into it (the build step); returns the digest. */
export function embedBundleDigest(bytes: Buffer, hash: Hasher = sha256Hex): { bytes: Buffer; digest: string } {
  const at = digestOffset(bytes);
  if (at < 0) throw new Error(`the bundle's second line must start with ${BUNDLE_DIGEST_PREFIX}`);
  const digest = bundleContentDigest(bytes, hash);
  const out = Buffer.from(bytes);
  out.write(digest, at, "latin1");
  return { bytes: out, digest };
}

/** Every module of the package (sorted relative paths and their sha256): a rebuild changes it. */
export function treeDigest(dir: string, fileDigest: (path: string) => string = (p) => sha256Hex(readFileSync(p))): string {
  const lines = packageModules(dir, "")
    .sort()
    .map((f) => `${f}\0${fileDigest(join(dir, f))}\n`);
  return sha256Hex(lines.join(""));
}

// By hand: Node 20's `readdirSync(dir, { recursive: true })` took 9 ms here, this walk under 1 ms.
function packageModules(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...packageModules(dir, rel));
    else if (entry.isFile() && /\.(js|ts)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** The digest `dist/build-id.json` claims, or undefined when there is none (an unbuilt tree). */
export function readBuildId(dir: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, BUILD_ID_FILE), "utf8"));
    const digest = (parsed as { digest?: unknown }).digest;
    return typeof digest === "string" && /^[0-9a-f]{64}$/.test(digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}
