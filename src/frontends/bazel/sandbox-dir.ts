import { isAbsolute, relative, resolve } from "node:path";

export type SandboxResolution = { ok: true; dir: string } | { ok: false; error: string };

/**
 * Resolves a WorkRequest's sandbox_dir against the worker's cwd. Bazel sends a relative path
 * (`__sandbox/<n>/<workspace>`); a relative path that climbs out of the cwd is refused so a request
 * cannot point the tool at arbitrary directories. An absolute path is accepted as given: remote
 * executors (NativeLink) name the action directory that way.
 */
export function resolveSandboxDir(cwd: string, sandboxDir: string): SandboxResolution {
  if (sandboxDir === "") return { ok: true, dir: cwd };
  if (sandboxDir.includes("\0")) return { ok: false, error: "sandbox_dir contains a NUL byte" };
  if (isAbsolute(sandboxDir)) return { ok: true, dir: resolve(sandboxDir) };
  const dir = resolve(cwd, sandboxDir);
  const rel = relative(cwd, dir);
  if (rel === ".." || rel.startsWith("../") || isAbsolute(rel)) {
    return { ok: false, error: `sandbox_dir ${JSON.stringify(sandboxDir)} escapes the worker directory ${cwd}` };
  }
  return { ok: true, dir };
}
