import { sha256Digest, digestString } from "./reapi-digest.js";
import type { PlatformProperty } from "./remote-action.js";

/** Buck2's error text when an action arg is not a flagfile (`command_executor.rs` 216–226). */
export const BUCK2_REMOTE_ARGFILE_ERROR =
  "Remote persistent worker arguments must be passed as `@argfile`, `-flagfile=argfile`, or `--flagfile=argfile`.";

export class Buck2ActionError extends Error {
  override readonly name = "Buck2ActionError";
}

export type StarlarkValue = string | number | boolean;

/** Starlark `str()` of a `remote_execution_properties` value: `True`/`False`, ints, strings as-is. */
export function starlarkStr(value: StarlarkValue): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

export interface ToolFile {
  /** Project-relative path, as Buck2 names the artifact (`buck-out/...` for generated files). */
  readonly path: string;
  readonly content: string | Uint8Array;
}

/**
 * The `persistentWorkerKey` Buck2 computes (`run/metadata.rs` 23–53, `paths_with_digest.rs`):
 * the tool's files walked depth-first with entries sorted by name at each level, the compact JSON
 * `{"version":1,"digests":[{"path":…,"digest":"<hex>:<size>"}]}`, hashed with the CAS digest
 * algorithm (SHA-256 here) and shown as `<hex>:<size>`.
 */
export function buck2WorkerKey(toolFiles: readonly ToolFile[]): { key: string; manifest: string } {
  interface Dir {
    dirs: Map<string, Dir>;
    files: Map<string, ToolFile>;
  }
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const file of toolFiles) {
    const parts = file.path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.dirs.get(part);
      if (!next) {
        next = { dirs: new Map(), files: new Map() };
        dir.dirs.set(part, next);
      }
      dir = next;
    }
    dir.files.set(parts[parts.length - 1]!, file);
  }
  const digests: { path: string; digest: string }[] = [];
  const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const walk = (dir: Dir): void => {
    const names = [...new Set([...dir.dirs.keys(), ...dir.files.keys()])].sort(byteOrder);
    for (const name of names) {
      const file = dir.files.get(name);
      if (file) digests.push({ path: file.path, digest: digestString(sha256Digest(file.content)) });
      const sub = dir.dirs.get(name);
      if (sub) walk(sub);
    }
  };
  walk(root);
  const manifest = JSON.stringify({ version: 1, digests });
  return { key: digestString(sha256Digest(manifest)), manifest };
}

export interface Buck2RemoteWorkerAction {
  /** The rendered `WorkerInfo.exe` (the local worker's exe). */
  readonly workerExe: readonly string[];
  /** `request.args()`: every one must be a flagfile. */
  readonly actionArgs: readonly string[];
  /** The execution platform's `remote_execution_properties`. */
  readonly remoteExecutionProperties: Readonly<Record<string, StarlarkValue>>;
  readonly toolFiles: readonly ToolFile[];
}

/**
 * The REAPI `Command.arguments` and `Command.platform` Buck2 sends for a remote persistent worker
 * action (`command_executor.rs` `prepare_action`): the fallback exe is dropped, the properties
 * come sorted with Starlark-stringified values, and `persistentWorkerKey` is appended last.
 */
export function buck2RemoteCommand(action: Buck2RemoteWorkerAction): { arguments: string[]; platform: PlatformProperty[] } {
  for (const arg of action.actionArgs) {
    if (!(arg.startsWith("@") || arg.startsWith("-flagfile") || arg.startsWith("--flagfile"))) {
      throw new Buck2ActionError(BUCK2_REMOTE_ARGFILE_ERROR);
    }
  }
  const names = Object.keys(action.remoteExecutionProperties).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const platform = names.map((name) => ({ name, value: starlarkStr(action.remoteExecutionProperties[name]!) }));
  platform.push({ name: "persistentWorkerKey", value: buck2WorkerKey(action.toolFiles).key });
  return { arguments: [...action.workerExe, ...action.actionArgs], platform };
}

/** A plain (non-worker) Buck2 remote action: the RunInfo command line, sorted properties, no key. */
export function buck2PlainCommand(commandLine: readonly string[], remoteExecutionProperties: Readonly<Record<string, StarlarkValue>>): { arguments: string[]; platform: PlatformProperty[] } {
  const names = Object.keys(remoteExecutionProperties).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { arguments: [...commandLine], platform: names.map((name) => ({ name, value: starlarkStr(remoteExecutionProperties[name]!) })) };
}

/** `at_argfile`: one argument per line, no quoting (`prelude/utils/argfile.bzl`). */
export function atArgfileContent(args: readonly string[]): string {
  return args.map((a) => `${a}\n`).join("");
}
