// Identity of warm state. A target is the (cwd, compiler, arguments) a request came with, the cwd
// as the compiler sees it (virtual-root.ts), so the same target in a new sandbox is the same; its
// program key is everything that decides the compilation's result besides file contents: the
// compiler, every resolved option and the root files. Options are hashed whole, not a hand-picked
// list, so no flag change can be missed.
import { createHash } from "node:crypto";
import type { CompileConfig } from "./compile.js";
import type { ResolvedTypeScript } from "./resolve-typescript.js";

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

/** `cwd` is the directory as the compiler sees it (the same virtual one for every sandbox). */
export function targetId(cwd: string, ts: ResolvedTypeScript, args: readonly string[], restricted: boolean): string {
  return sha256(stableJson({ cwd, ts: `${ts.dir}@${ts.version}`, args, restricted }));
}

/** The target in one real directory: requests from that directory find their own state first. */
export function placedTargetId(virtualId: string, realCwd: string): string {
  return sha256(stableJson({ virtualId, realCwd }));
}

export function programKey(ts: ResolvedTypeScript, config: CompileConfig): string {
  return sha256(
    stableJson({
      ts: `${ts.dir}@${ts.version}`,
      options: config.options,
      rootNames: config.rootNames,
      projectReferences: config.projectReferences ?? null,
    }),
  );
}
