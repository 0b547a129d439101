import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { daemonPaths, DaemonDirError, defaultDaemonDir, ensurePrivateDir } from "./daemon-dir.js";

const made: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), "wb-dir-"));
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
const uid = process.getuid!();

describe("the daemon directory (docs/daemon.md, security)", () => {
  it("defaults to $XDG_RUNTIME_DIR/worker-bridge, else /tmp/worker-bridge-<uid>; never $TMPDIR", () => {
    expect(defaultDaemonDir({ XDG_RUNTIME_DIR: "/run/user/5", TMPDIR: "/x" }, 5)).toBe("/run/user/5/worker-bridge");
    expect(defaultDaemonDir({ TMPDIR: "/action/tmp" }, 5)).toBe("/tmp/worker-bridge-5");
    expect(defaultDaemonDir({ XDG_RUNTIME_DIR: "relative" }, 5)).toBe("/tmp/worker-bridge-5");
  });

  it("is created with mode 0700", () => {
    const dir = join(scratch(), "a", "b");
    ensurePrivateDir(dir, uid);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("a directory writable or readable by group or others is refused with the chmod to run", () => {
    for (const mode of [0o770, 0o707, 0o750]) {
      const dir = join(scratch(), "d");
      mkdirSync(dir);
      chmodSync(dir, mode);
      expect(() => ensurePrivateDir(dir, uid)).toThrow(new DaemonDirError(`daemon directory ${dir} has mode 0${mode.toString(8)}; it must be 0700 (run: chmod 700 ${dir})`));
    }
  });

  it("a directory owned by another user is refused", () => {
    const dir = join(scratch(), "d");
    mkdirSync(dir, { mode: 0o700 });
    if (uid === 0) chownSync(dir, 65534, 65534);
    const owner = uid === 0 ? 65534 : uid;
    // Not root: pretend to be someone else instead.
    const me = uid === 0 ? 0 : uid + 1;
    expect(() => ensurePrivateDir(dir, me)).toThrow(new RegExp(`belongs to uid ${owner}, not to you \\(uid ${me}\\)`));
  });

  it("a symbolic link is refused even when it points at a good directory", () => {
    const base = scratch();
    const real = join(base, "real");
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, "link"));
    expect(() => ensurePrivateDir(join(base, "link"), uid)).toThrow(/is a symbolic link/);
  });

  it("a relative path is refused", () => {
    expect(() => ensurePrivateDir("rel/dir", uid)).toThrow(/must be an absolute path/);
  });

  it("one key's files share a stem", () => {
    expect(daemonPaths("/d", "d-abc")).toEqual({
      socket: "/d/d-abc.sock",
      lock: "/d/d-abc.lock",
      info: "/d/d-abc.json",
      log: "/d/d-abc.log",
      deaths: "/d/d-abc.deaths",
    });
  });
});
