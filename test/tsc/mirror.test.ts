// The TypeScript 7 mirror of declared inputs (src/tools/tsc/native/mirror.ts): a hard-linked
// mirror file shares its source's inode, so it is trusted only while it still is the source's file.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { syncMirror } from "../../src/tools/tsc/native/mirror.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const digest = (text: string): Uint8Array => createHash("sha256").update(text).digest();

test.each(["link", "copy"] as const)("mode %s: a source written in place, deleted and re-created with its old content is mirrored with that content", (mode) => {
  const base = mkdtempSync(join(tmpdir(), "tsc-mirror-"));
  dirs.push(base);
  const src = join(base, "src");
  const tree = join(base, "tree");
  mkdirSync(join(src, "a"), { recursive: true });
  const A = "export const v = 1;\n";
  const B = "export const v = 2; // another branch\n";
  writeFileSync(join(src, "a/x.ts"), A);
  const first = syncMirror(tree, src, [{ path: "a/x.ts", digest: digest(A) }], {}, () => false, mode);
  expect(readFileSync(join(tree, "a/x.ts"), "utf8")).toBe(A);
  // A branch switch: written in place (the mirror's link sees it), then the file goes away and comes back anew.
  writeFileSync(join(src, "a/x.ts"), B);
  rmSync(join(src, "a/x.ts"));
  writeFileSync(join(src, "a/x.ts"), A);
  const second = syncMirror(tree, src, [{ path: "a/x.ts", digest: digest(A) }], first.record, () => false, mode);
  expect(readFileSync(join(tree, "a/x.ts"), "utf8")).toBe(A);
  expect(second.stats.unchanged + second.stats.linked + second.stats.copied).toBe(1);
  // Unchanged and still the same file: nothing is placed again.
  const third = syncMirror(tree, src, [{ path: "a/x.ts", digest: digest(A) }], second.record, () => false, mode);
  expect(third.stats.unchanged).toBe(1);
});
