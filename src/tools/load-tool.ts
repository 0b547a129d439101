import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isToolDefinition, type ToolDefinition } from "../tool-api/define-tool.js";
import { BridgeError, errorText } from "../errors.js";

/** Built-in tools, by the name `--tool NAME` accepts. Values are module URLs relative to this file. */
const BUILTIN_TOOLS: Readonly<Record<string, string>> = {
  probe: "./probe.js",
  tsc: "./tsc/index.js",
};

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
  if (builtin !== undefined) return new URL(builtin, import.meta.url).href;
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
    mod = (await import(moduleUrl)) as Record<string, unknown>;
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
