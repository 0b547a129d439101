// Identity of warm state. A target is the (cwd, compiler, arguments) a request came with: the cwd
// as the compiler sees it (virtual-root.ts), so the same target in a new sandbox is the same, and
// the compiler by content and by where it sees its lib files (compilerKey), so a copy of the same
// TypeScript in each sandbox is the same compiler. Its program key is everything that decides the
// compilation's result besides file contents: the compiler, every resolved option and the root
// files. Options are hashed whole, not a hand-picked list, so no flag change can be missed.
import { createHash } from "node:crypto";
import type { CompileConfig } from "./compile.js";
import type { LoadedTypeScript } from "./resolve-typescript.js";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** JSON with sorted keys; drops `configFile` (a parsed SourceFile tsc attaches to options). */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    if (key === "configFile") return undefined;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * The compiler as warm state depends on it: which loaded instance, and the lib directory as the
 * compiler sees it (`virtualLibDir`; lib files are part of every program, by that name).
 */
export function compilerKey(ts: LoadedTypeScript, virtualLibDir: string): string {
  return `${ts.identity}#${ts.instance}:${virtualLibDir}`;
}

/** `cwd` is the directory as the compiler sees it (the same virtual one for every sandbox). */
export function targetId(cwd: string, compiler: string, args: readonly string[], restricted: boolean): string {
  return sha256(stableJson({ cwd, ts: compiler, args, restricted }));
}

/** The target in one real directory: requests from that directory find their own state first. */
export function placedTargetId(virtualId: string, realCwd: string): string {
  return sha256(stableJson({ virtualId, realCwd }));
}

export function programKey(compiler: string, config: CompileConfig): string {
  return sha256(
    stableJson({
      ts: compiler,
      options: config.options,
      rootNames: config.rootNames,
      projectReferences: config.projectReferences ?? null,
    }),
  );
}
