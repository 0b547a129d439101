// The REAPI actions Buck2 sends for buck2-demo's remote platforms, derived from the demo's own
// files: demo-targets.json (targets, worker), platforms/defs.bzl (remote_execution_properties),
// tools/worker-bridge and tools/worker-bridge.mjs (the launcher and the bundle it runs, the files of
// WorkerInfo.exe), defs.bzl's argfile layout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./emulator/bridge-actions.js";
import { atArgfileContent, buck2PlainCommand, buck2RemoteCommand, type StarlarkValue, type ToolFile } from "./emulator/buck2-remote-command.js";
import type { InputFile, RemoteAction } from "./emulator/remote-action.js";

export const DEMO_DIR = join(REPO_ROOT, "buck2-demo");

export interface DemoTarget {
  readonly name: string;
  readonly text: string;
  readonly args: readonly string[];
}

export interface DemoData {
  readonly worker: { readonly name: string; readonly bridge: string; readonly bundle: string; readonly tool: string };
  readonly targets: readonly DemoTarget[];
}

export function loadDemo(): DemoData {
  return JSON.parse(readFileSync(join(DEMO_DIR, "demo-targets.json"), "utf8")) as DemoData;
}

/**
 * The `remote_execution_properties` dict literal of platforms/defs.bzl. demo-targets.json does not
 * carry it, so this reads the Starlark literal (string keys; string, bool or int values).
 */
export function loadRemoteExecutionProperties(): Record<string, StarlarkValue> {
  const source = readFileSync(join(DEMO_DIR, "platforms/defs.bzl"), "utf8");
  const match = /remote_execution_properties\s*=\s*\{([^}]*)\}/.exec(source);
  if (!match) throw new Error("buck2-demo/platforms/defs.bzl: no remote_execution_properties dict found");
  const body = match[1]!.replace(/#[^\n]*/g, "");
  const props: Record<string, StarlarkValue> = {};
  for (const entry of body.matchAll(/"([^"]+)"\s*:\s*("([^"]*)"|True|False|-?\d+)/g)) {
    const raw = entry[2]!;
    props[entry[1]!] = raw === "True" ? true : raw === "False" ? false : raw.startsWith('"') ? entry[3]! : Number(raw);
  }
  if (Object.keys(props).length === 0) throw new Error("buck2-demo/platforms/defs.bzl: remote_execution_properties is empty");
  return props;
}

/** A configuration hash as Buck2 puts it into buck-out paths. */
export const CFG = "904931f735703749";

export interface DemoAction {
  readonly target: DemoTarget;
  readonly output: string;
  readonly argfile: string;
  readonly action: RemoteAction;
}

/**
 * One demo target's remote action. `persistent`: the remote-persistent-workers platform
 * (WorkerInfo.exe + @argfile, key appended); otherwise the remote platform (the fallback
 * RunInfo command, no key). `launcherInInputs: false` reproduces Buck2's input-root caveat
 * (`dea3712c14`) for a rule that does not attach the launcher as a hidden input;
 * `bundleInInputs: false` leaves out the bundle alone. The bundle is buck2-demo/tools/worker-bridge.mjs,
 * which `npm run build` copies there.
 */
export function demoAction(target: DemoTarget, options: { persistent: boolean; launcherInInputs?: boolean; bundleInInputs?: boolean }): DemoAction {
  const demo = loadDemo();
  const dir = `buck-out/v2/gen/root/${CFG}/__${target.name}__`;
  const output = `${dir}/${target.name}.txt`;
  const argfile = `${dir}/demo.${target.name}.args`;
  // defs.bzl _demo_impl: --write=<output>=<text>, --env=WORKER_SOCKET, --pid, then the target's args.
  const lines = [`--write=${output}=${target.text}`, "--env=WORKER_SOCKET", "--pid", ...target.args];
  const launcherPath = demo.worker.bridge;
  const launcher: ToolFile = { path: launcherPath, content: readFileSync(join(DEMO_DIR, launcherPath)) };
  const bundlePath = demo.worker.bundle;
  const bundle: ToolFile = { path: bundlePath, content: readFileSync(join(DEMO_DIR, bundlePath)) };
  const exe = [launcherPath, bundlePath, "--tool", demo.worker.tool];
  const properties = loadRemoteExecutionProperties();
  const command = options.persistent
    ? buck2RemoteCommand({ workerExe: exe, actionArgs: [`@${argfile}`], remoteExecutionProperties: properties, toolFiles: [launcher, bundle] })
    : buck2PlainCommand([...exe, `@${argfile}`], properties);
  const inputRoot: Record<string, InputFile> = { [argfile]: atArgfileContent(lines) };
  if (options.launcherInInputs !== false) inputRoot[launcherPath] = { content: launcher.content, executable: true };
  if (options.bundleInInputs !== false) inputRoot[bundlePath] = { content: bundle.content, executable: true };
  return {
    target,
    output,
    argfile,
    action: { arguments: command.arguments, platform: command.platform, env: {}, inputRoot, outputPaths: [output] },
  };
}
