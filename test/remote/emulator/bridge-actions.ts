import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { InputFile, PlatformProperty, ProfileName, RemoteAction } from "./remote-action.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI_PATH = resolve(REPO_ROOT, "dist/cli.js");

/** Fails early with the fix when the CLI has not been built (tests spawn `dist/cli.js`). */
export function requireBuiltCli(): string {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` first`);
  return CLI_PATH;
}

/** `WORKER WORKER_ARGS...`: the runner image's node running the installed bridge (absolute paths). */
export function bridgeWorker(tool: string, startupArgs: readonly string[] = []): string[] {
  return [process.execPath, requireBuiltCli(), "--tool", tool, ...startupArgs];
}

/** What a rule (or platform) sets on a worker action for each executor: docs/remote-execution.md. */
export function platformFor(profile: ProfileName, workerKey: string): PlatformProperty[] {
  switch (profile) {
    case "buildbuddy-proto":
      return [
        { name: "recycle-runner", value: "true" },
        { name: "persistentWorkerKey", value: workerKey },
      ];
    case "buildbuddy-json":
      return [
        { name: "recycle-runner", value: "true" },
        { name: "persistentWorkerKey", value: workerKey },
        { name: "persistentWorkerProtocol", value: "json" },
      ];
    case "nativelink":
      return [
        { name: "supports-workers", value: "1" },
        { name: "requires-worker-protocol", value: "proto" },
      ];
    case "buildfarm":
    case "buildbarn":
    case "plain":
      // What Bazel >= 6 with --experimental_remote_mark_tool_inputs sends.
      return [{ name: "persistentWorkerKey", value: workerKey }];
  }
}

export interface WorkerActionSpec {
  readonly tool: string;
  readonly startupArgs?: readonly string[];
  /** The request argfile: one argument per line. */
  readonly argfile: { readonly path: string; readonly args: readonly string[] };
  readonly inputs?: Readonly<Record<string, InputFile>>;
  readonly outputPaths?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * A Bazel-shaped worker action for `profile`: `WORKER WORKER_ARGS... @argfile`, the platform
 * properties that executor needs, and (for JSON on BuildBuddy) the matching `--protocol=json`.
 */
export function workerAction(profile: ProfileName, spec: WorkerActionSpec): RemoteAction {
  const startup = [...(spec.startupArgs ?? []), ...(profile === "buildbuddy-json" ? ["--protocol=json"] : [])];
  const worker = bridgeWorker(spec.tool, startup);
  const key = createHash("sha256").update(JSON.stringify(worker)).digest("hex");
  return {
    arguments: [...worker, `@${spec.argfile.path}`],
    platform: platformFor(profile, key),
    env: spec.env ?? {},
    inputRoot: { ...(spec.inputs ?? {}), [spec.argfile.path]: spec.argfile.args.map((a) => `${a}\n`).join("") },
    ...(spec.outputPaths ? { outputPaths: spec.outputPaths } : {}),
    ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
  };
}

/**
 * A runner image with node and the package installed: a directory holding a `worker-bridge`
 * executable (here a shim exec'ing this repository's build), to put first on the executor's PATH.
 * Returns the env a profile should use as `baseEnv`.
 */
export function runnerImageEnv(): { env: Record<string, string>; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "wb-runner-image-"));
  const shim = join(dir, "worker-bridge");
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${requireBuiltCli()}" "$@"\n`);
  chmodSync(shim, 0o755);
  return { env: { PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}` }, dir };
}
