import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ArgfileError, classifyArgument, expandArgfiles, isFlagfileArgument, splitArgfileLines } from "./argfile.js";

const made: string[] = [];
afterAll(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

function dir(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(join(tmpdir(), "argfile-"));
  made.push(root);
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
  }
  return root;
}

describe("argfile expansion (docs/protocol/bazel-worker.md §3.3, remote-persistent-workers §9)", () => {
  it("splits one argument per line exactly as written, on \\n, \\r\\n and \\r", () => {
    expect(splitArgfileLines("a\nb\r\nc\rd")).toEqual(["a", "b", "c", "d"]);
    expect(splitArgfileLines("  spaced  \n'quoted'\n")).toEqual(["  spaced  ", "'quoted'"]);
    expect(splitArgfileLines("a\n\nb\n")).toEqual(["a", "", "b"]);
    expect(splitArgfileLines("")).toEqual([]);
    expect(splitArgfileLines("\n")).toEqual([""]);
  });

  it("classifies @file, --flagfile= and -flagfile= as argfiles; @@x and @repo//labels as literals", () => {
    expect(classifyArgument("@x.args")).toEqual({ kind: "argfile", path: "x.args" });
    expect(classifyArgument("--flagfile=x.args")).toEqual({ kind: "argfile", path: "x.args" });
    expect(classifyArgument("-flagfile=x.args")).toEqual({ kind: "argfile", path: "x.args" });
    expect(classifyArgument("@@lit")).toEqual({ kind: "literal", value: "@lit" });
    expect(classifyArgument("@repo//pkg:x")).toEqual({ kind: "literal", value: "@repo//pkg:x" });
    expect(classifyArgument("@")).toEqual({ kind: "literal", value: "@" });
    expect(classifyArgument("--other=@x")).toEqual({ kind: "literal", value: "--other=@x" });
  });

  it("matches Bazel's flagfile split regex (?:@|--?flagfile=)(.+)", () => {
    expect(["@a", "--flagfile=a", "-flagfile=a", "@@a", "@r//p"].every(isFlagfileArgument)).toBe(true);
    expect(["a", "@", "--flagfile=", "---flagfile=a", "--persistent_worker"].some(isFlagfileArgument)).toBe(false);
  });

  it("expands recursively, keeps blank lines, unescapes @@ and leaves @repo// labels", async () => {
    const cwd = dir({
      "p.args": "--first\n\n@@double\n@ext//pkg:t\n@sub/nested.args\n--flagfile=sub/flag.args\n--last\n",
      "sub/nested.args": "--nested-a\r\n--nested-b\r\n",
      "sub/flag.args": "--from-flagfile\n",
    });
    const args = await expandArgfiles(["--before", "@p.args", "-flagfile=sub/flag.args"], { cwd });
    expect(args).toEqual([
      "--before",
      "--first",
      "",
      "@double",
      "@ext//pkg:t",
      "--nested-a",
      "--nested-b",
      "--from-flagfile",
      "--last",
      "--from-flagfile",
    ]);
  });

  it("resolves argfile paths against the job's cwd (nested paths too, not against the argfile)", async () => {
    const cwd = dir({ "a/x.args": "@b/y.args\n", "b/y.args": "ok\n" });
    expect(await expandArgfiles(["@a/x.args"], { cwd })).toEqual(["ok"]);
  });

  it("fails with an error naming the path when an argfile is missing", async () => {
    const cwd = dir({});
    const err = await expandArgfiles(["@missing.args"], { cwd }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgfileError);
    expect((err as Error).message).toMatch(/cannot read argfile @missing\.args \(.*missing\.args\): no such file/);
  });

  it("expands an empty argfile to no arguments", async () => {
    expect(await expandArgfiles(["a", "@e.args", "b"], { cwd: dir({ "e.args": "" }) })).toEqual(["a", "b"]);
  });

  it("refuses a binary argfile (NUL byte) with the offset", async () => {
    const cwd = dir({ "bin.args": Uint8Array.of(0x61, 0x0a, 0x00, 0xff) });
    await expect(expandArgfiles(["@bin.args"], { cwd })).rejects.toThrow(/binary \(NUL byte at offset 2\)/);
  });

  it("detects a self-referencing argfile and a longer cycle", async () => {
    const cwd = dir({ "self.args": "@self.args\n", "a.args": "@b.args\n", "b.args": "@a.args\n" });
    await expect(expandArgfiles(["@self.args"], { cwd })).rejects.toThrow(/argfile cycle: .*self\.args -> .*self\.args/);
    await expect(expandArgfiles(["@a.args"], { cwd })).rejects.toThrow(/argfile cycle/);
  });

  it("limits nesting depth with a clear error", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 100; i++) files[`n${i}.args`] = `@n${i + 1}.args\n`;
    files["n100.args"] = "deep\n";
    const cwd = dir(files);
    await expect(expandArgfiles(["@n0.args"], { cwd })).rejects.toThrow(/nested deeper than 32 levels/);
    expect(await expandArgfiles(["@n0.args"], { cwd, maxDepth: 128 })).toEqual(["deep"]);
  });

  it("keeps non-ASCII and very long lines (> 64 KiB) intact", async () => {
    const long = `--x=${"y".repeat(70_000)}`;
    const cwd = dir({ "u.args": `é\n日本\n${long}\n` });
    expect(await expandArgfiles(["@u.args"], { cwd })).toEqual(["é", "日本", long]);
  });
});
