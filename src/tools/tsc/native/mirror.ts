// A stable per-target copy of a request's declared inputs. tsgo's `.tsbuildinfo` records file
// paths, so compiling where the request happens to be (a new sandbox each time, a remote build
// directory) would start cold; compiling in this mirror keeps the paths constant. Files are hard
// links where the file system allows (no copying, no extra space), copies otherwise, and are
// refreshed from the build system's digests — or, without digests, from the files themselves.
import { copyFileSync, linkSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import type { ToolInput } from "../../../tool-api/define-tool.js";
import type { MirroredInput } from "./state-dir.js";

export class MirrorPathError extends Error {
  override readonly name = "MirrorPathError";
}

/** Declared input paths the mirror can hold: relative and inside the request directory. */
export function mirrorablePath(path: string): string | undefined {
  if (path === "" || isAbsolute(path)) return undefined;
  const n = normalize(path);
  if (n === ".." || n.startsWith(`..${sep}`) || n === ".") return undefined;
  return n;
}

const hex = (d: Uint8Array): string => Buffer.from(d).toString("hex");

export interface MirrorStats {
  linked: number;
  copied: number;
  removed: number;
  unchanged: number;
}

/**
 * Makes `tree` hold exactly the request's inputs (as of now) and returns what was mirrored.
 * `previous` is the record of the last sync; `isOutput` protects tsgo's outputs inside the tree.
 */
export function syncMirror(
  tree: string,
  cwd: string,
  inputs: readonly ToolInput[],
  previous: Readonly<Record<string, MirroredInput>>,
  isOutput: (rel: string) => boolean,
  mode: "link" | "copy" = "link",
): { record: Record<string, MirroredInput>; stats: MirrorStats } {
  const record: Record<string, MirroredInput> = {};
  const stats: MirrorStats = { linked: 0, copied: 0, removed: 0, unchanged: 0 };
  for (const input of inputs) {
    const rel = mirrorablePath(input.path);
    if (rel === undefined) throw new MirrorPathError(`declared input ${input.path} is not a relative path inside the request directory`);
    if (isOutput(rel) || record[rel] !== undefined) continue;
    const digest = hex(input.digest);
    const target = join(tree, rel);
    const before = previous[rel];
    let source: string;
    let sourceStat;
    try {
      source = realpathSync(join(cwd, rel));
      sourceStat = statSync(source);
      if (!sourceStat.isFile()) continue; // a directory input: its files come as inputs of their own
    } catch {
      continue; // declared but absent: tsgo in the request directory would not see it either
    }
    const mirrored = statOrUndefined(target);
    if (before !== undefined && mirrored !== undefined && mirrored.ino === before.ino && mirrored.dev === before.dev) {
      // A link to a file that was since replaced holds whatever was last written into the old
      // inode (a branch switch writes sources in place, then deletes and re-creates them), not
      // necessarily the content the digest names: it is placed again.
      const current = before.copied === true || (sourceStat.ino === mirrored.ino && sourceStat.dev === mirrored.dev);
      if (digest !== "" && digest === before.digest && current) {
        record[rel] = before;
        stats.unchanged++;
        continue;
      }
      if (digest === "") {
        const src = statSync(source);
        // A hard link is the file itself; a copy is compared byte for byte.
        const same =
          (src.ino === mirrored.ino && src.dev === mirrored.dev) ||
          (src.size === mirrored.size && readFileSync(source).equals(readFileSync(target)));
        if (same) {
          record[rel] = { ...before, size: src.size, mtimeMs: src.mtimeMs };
          stats.unchanged++;
          continue;
        }
      }
    }
    const how = place(source, target, mode);
    stats[how]++;
    const st = statSync(target);
    record[rel] = { digest, size: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, ...(how === "copied" ? { copied: true } : {}) };
  }
  for (const rel of Object.keys(previous)) {
    if (record[rel] !== undefined) continue;
    rmSync(join(tree, rel), { force: true });
    removeEmptyParents(tree, dirname(rel));
    stats.removed++;
  }
  return { record, stats };
}

/** Puts `source`'s content at `target` atomically: a hard link if possible (and asked for), else a copy. */
export function place(source: string, target: string, mode: "link" | "copy" = "link"): "linked" | "copied" {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.wb-${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  let how: "linked" | "copied" = "linked";
  try {
    if (mode === "copy") throw new Error("a private copy was asked for");
    linkSync(source, tmp);
  } catch {
    copyFileSync(source, tmp);
    how = "copied";
  }
  renameSync(tmp, target);
  return how;
}

function statOrUndefined(p: string): { ino: number; dev: number; size: number } | undefined {
  try {
    const st = lstatSync(p);
    return st.isFile() ? { ino: st.ino, dev: st.dev, size: st.size } : undefined;
  } catch {
    return undefined;
  }
}

/** Empty directories can change module resolution (a directory probe succeeds), so they go too. */
function removeEmptyParents(tree: string, relDir: string): void {
  for (let d = relDir; d !== "." && d !== "" && d !== sep; d = dirname(d)) {
    try {
      rmdirSync(join(tree, d));
    } catch {
      return;
    }
  }
}
