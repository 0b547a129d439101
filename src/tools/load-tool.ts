import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BridgeError, errorText } from "../errors.js";
import { singleFileBuild } from "../single-file-build.js";
import { isToolDefinition, type ToolDefinition } from "../tool-api/define-tool.js";

interface BuiltinTool {
  /** Module URL relative to this file. */
  readonly path: string;
  /** A literal import, so that the single-file build carries the tool inside it. */
  readonly load: () => Promise<Record<string, unknown>>;
}

/** Built-in tools, by the name `--tool NAME` accepts. */
const BUILTIN_TOOLS: Readonly<Record<string, BuiltinTool>> = {
  probe: { path: "./probe.js", load: () => import("./probe.js") },
  tsc: { path: "./tsc/index.js", load: () => import("./tsc/index.js") },
};

/**
 * A built-in tool's module URL. In the single-file build it names the bundle itself, with the
 * tool in the fragment (a path given to --tool never has one: `#` is escaped in file URLs).
 */
function builtinUrl(name: string, tool: BuiltinTool): string {
  return singleFileBuild ? `${import.meta.url}#tool=${name}` : new URL(tool.path, import.meta.url).href;
}

function builtinByUrl(moduleUrl: string): BuiltinTool | undefined {
  for (const [name, tool] of Object.entries(BUILTIN_TOOLS)) {
    if (builtinUrl(name, tool) === moduleUrl) return tool;
  }
  return undefined;
}

export class ToolLoadError extends BridgeError {
  override readonly name = "ToolLoadError";
}

export function builtinToolNames(): string[] {
  return Object.keys(BUILTIN_TOOLS);
}

/**
 * Resolves `--tool NAME|PATH` to an importable module URL: a built-in name, or a module path
 * resolved against `cwd`.
 */
export function resolveToolModule(spec: string, cwd: string): string {
  const builtin = BUILTIN_TOOLS[spec];
  if (builtin !== undefined) return builtinUrl(spec, builtin);
  if (spec.startsWith("file:")) return spec;
  const path = isAbsolute(spec) ? spec : resolve(cwd, spec);
  if (!existsSync(path)) {
    throw new ToolLoadError(
      `--tool ${spec}: not a built-in tool (${builtinToolNames().join(", ")}) and no module at ${path}`,
    );
  }
  return pathToFileURL(path).href;
}

/** Imports a tool module and returns its definition (default export, or a named `tool` export). */
export async function loadTool(moduleUrl: string): Promise<ToolDefinition<unknown>> {
  let mod: Record<string, unknown>;
  try {
    const builtin = builtinByUrl(moduleUrl);
    mod = builtin ? await builtin.load() : ((await import(moduleUrl)) as Record<string, unknown>);
  } catch (err) {
    throw new ToolLoadError(`cannot load tool module ${moduleUrl}: ${errorText(err)}`);
  }
  const candidate = mod.default ?? mod.tool;
  if (!isToolDefinition(candidate)) {
    throw new ToolLoadError(
      `tool module ${moduleUrl} must \`export default defineTool({ run(job, ctx) { ... } })\``,
    );
  }
  return candidate;
}
