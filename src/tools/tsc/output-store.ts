// Writing every output again is most of a warm request's cost: build systems delete outputs
// before each action, and creating hundreds of files is slow on a busy disk (creating the inode,
// not the bytes, is what costs). So each output's bytes are also kept once in a private directory
// of this process, and an output is placed by hard-linking that copy, which creates no inode.
//
// A copy is only ever linked to the output of the same name (never shared between outputs that
// happen to have equal bytes), and before every use its size, modification time and inode are
// compared with what this process wrote: a program that rewrote an output in place (instead of
// replacing it) changed the copy too, which is then written afresh. When linking is impossible
// (another file system, no hard links) outputs are written as plain files from then on.
// WORKER_BRIDGE_TSC_LINK_OUTPUTS=0 turns linking off.
import { createHash } from "node:crypto";
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sweepDeadProcessDirs } from "./process-dirs.js";

interface Copy {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  used: number;
}

const PREFIX = "worker-bridge-tsc-outputs-";
const NO_LINKS = new Set(["EXDEV", "EPERM", "ENOTSUP", "EOPNOTSUPP", "EMLINK", "ENOSYS", "EACCES", "EROFS"]);

/** Stores of processes that died without cleaning up (SIGKILL, OOM) are removed. */
function sweepDeadStores(dir: string): void {
  sweepDeadProcessDirs(dir, PREFIX);
}

export class OutputStore {
  private dir: string | undefined;
  private readonly copies = new Map<string, Copy>();
  private disabled = process.env.WORKER_BRIDGE_TSC_LINK_OUTPUTS === "0";
  private generation = 0;
  private counter = 0;

  /** Keys of copies by the emitted file they hold, so unchanged outputs are not hashed again. */
  private readonly keys = new WeakMap<object, string>();

  /**
   * Places `content` (the output `name`) at `target`, whose directory exists. `owner`, when given,
   * is an object that stands for exactly this name and content.
   */
  place(name: string, content: string, target: string, owner: object | undefined): void {
    if (this.disabled || owner === undefined) {
      writeFileSync(target, content);
      return;
    }
    let key = this.keys.get(owner);
    if (key === undefined) {
      key = createHash("sha256").update(name).update("\0").update(content).digest("hex");
      this.keys.set(owner, key);
    }
    const copy = this.copyOf(key, content);
    try {
      // Build systems delete outputs before an action: linking first costs one system call then.
      try {
        linkSync(copy.path, target);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      // An output left from an earlier request may already be this very copy.
      const existing = lstatSync(target);
      if (existing.ino === copy.ino && existing.dev === copy.dev) return;
      unlinkSync(target);
      linkSync(copy.path, target);
    } catch (err) {
      // This file system cannot link (or not across to the copies): plain files from now on.
      if (NO_LINKS.has((err as NodeJS.ErrnoException).code ?? "")) this.disabled = true;
      writeFileSync(target, content);
    }
  }

  /** Called after each request: copies no output used for a while are dropped. */
  endRequest(): void {
    this.generation++;
    if (this.copies.size < 4096) return;
    for (const [key, copy] of this.copies) {
      if (this.generation - copy.used > 8) {
        rmSync(copy.path, { force: true });
        this.copies.delete(key);
      }
    }
  }

  clear(): void {
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.copies.clear();
  }

  private copyOf(key: string, content: string): Copy {
    const known = this.copies.get(key);
    if (known !== undefined) {
      const now = lstatSync(known.path, { throwIfNoEntry: false });
      if (now !== undefined && now.dev === known.dev && now.ino === known.ino && now.size === known.size && now.mtimeMs === known.mtimeMs) {
        known.used = this.generation;
        return known;
      }
      this.copies.delete(key);
    }
    const path = join(this.directory(), `${++this.counter}`);
    writeFileSync(path, content);
    const stat = lstatSync(path);
    const copy = { path, dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, used: this.generation };
    this.copies.set(key, copy);
    return copy;
  }

  private directory(): string {
    if (this.dir === undefined) {
      const parent = tmpdir();
      sweepDeadStores(parent);
      mkdirSync(parent, { recursive: true });
      this.dir = mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
      const dir = this.dir;
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
    return this.dir;
  }
}
