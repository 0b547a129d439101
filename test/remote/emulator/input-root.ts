import { chmod, cp, mkdir, readdir, readFile, rm, rename, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { fileContent, type InputFile } from "./remote-action.js";
import { sha256Digest, type Digest } from "./reapi-digest.js";

/** Rejects paths that would land outside the directory: the emulator must never touch the host. */
export function checkRelativePath(path: string): string {
  const clean = normalize(path);
  if (path === "" || isAbsolute(path) || clean === ".." || clean.startsWith(`..${sep}`)) {
    throw new Error(`input root path ${JSON.stringify(path)} must be relative and stay inside the root`);
  }
  return clean;
}

/**
 * Writes the input root under `dir` (which must exist). With `readOnly` the files get the modes a
 * Buildbarn worker gives them (0555 executable, 0444 otherwise); directories stay writable.
 */
export async function materializeInputs(dir: string, files: Readonly<Record<string, InputFile>>, options: { readOnly?: boolean } = {}): Promise<void> {
  for (const [path, file] of Object.entries(files)) {
    const target = join(dir, checkRelativePath(path));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, fileContent(file));
    const executable = typeof file !== "string" && file.executable === true;
    if (options.readOnly === true) await chmod(target, executable ? 0o555 : 0o444);
    else if (executable) await chmod(target, 0o755);
  }
}

/**
 * Empties `dir` but keeps the directory itself: a worker whose cwd is the workspace (BuildBuddy)
 * keeps a valid cwd across tasks, as it does on a real runner.
 */
export async function wipeDirectory(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}

/** Reads the declared outputs that exist; missing ones are simply absent, as in an ActionResult. */
export async function collectOutputs(dir: string, outputPaths: readonly string[] | undefined): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of outputPaths ?? []) {
    try {
      out[path] = await readFile(join(dir, checkRelativePath(path)), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return out;
}

/** Moves the declared outputs that exist from one root to another (Buildfarm's move-back). */
export async function moveOutputs(from: string, to: string, outputPaths: readonly string[] | undefined): Promise<void> {
  for (const path of outputPaths ?? []) {
    const rel = checkRelativePath(path);
    const src = join(from, rel);
    const dst = join(to, rel);
    try {
      await mkdir(dirname(dst), { recursive: true });
      await rename(src, dst);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

/** Copies selected input files from one root to another, keeping their modes. */
export async function copyFiles(from: string, to: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const rel = checkRelativePath(path);
    await mkdir(dirname(join(to, rel)), { recursive: true });
    await cp(join(from, rel), join(to, rel), { force: true });
  }
}

export async function removeFiles(root: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) await rm(join(root, checkRelativePath(path)), { force: true });
}

/** Every input with its SHA-256 digest, in input-root order. */
export function inputDigests(files: Readonly<Record<string, InputFile>>): { path: string; digest: Digest }[] {
  return Object.entries(files).map(([path, file]) => ({ path, digest: sha256Digest(fileContent(file)) }));
}
