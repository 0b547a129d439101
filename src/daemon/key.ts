import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { builtinToolNames, resolveToolModule } from "../tools/load-tool.js";
import { runningBridge } from "./bridge-identity.js";
import { sha256Hex } from "./sha256.js";

/** Host settings that change how a daemon runs jobs; two clients must agree on all of them. */
export interface DaemonHostSettings {
  readonly host: string;
  /** undefined: the default, which follows from the tool (and the tool is part of the key). */
  readonly concurrency: number | undefined;
  readonly tools: number | undefined;
  readonly abortGraceMs: number;
  readonly maxRequestsPerTool: number | undefined;
  readonly maxToolMemoryMb: number | undefined;
}

/** The tool a daemon hosts, as the key names it and as `daemon serve --tool` is given it. */
export interface DaemonTool {
  /** What to pass to `daemon serve --tool`: a built-in's name, or a user tool's file URL. */
  readonly spec: string;
  /** `builtin:NAME` (its code is the bridge's), or the user tool's module URL. */
  readonly id: string;
  /** sha256 of a user tool's file; "in-bridge" for built-ins; "not-a-file" for non-file URLs. */
  readonly digest: string;
}

/**
 * Everything that makes two daemons' tool processes interchangeable (docs/daemon.md, "The key").
 * A daemon answers only requests whose key digest equals its own.
 */
export interface DaemonKeyParts {
  /** sha256 of the running bridge's code (the bundle, or the package's dist/), never its path. */
  readonly bridge: string;
  readonly node: string;
  readonly nodeVersion: string;
  readonly tool: string;
  readonly toolDigest: string;
  readonly startupArgs: readonly string[];
  readonly hostSettings: DaemonHostSettings;
}

export interface DaemonKey {
  readonly parts: DaemonKeyParts;
  /** sha256 hex of the parts: what the handshake compares. */
  readonly digest: string;
  /** Short, filesystem-safe name for this key's socket, lock, info and log files. */
  readonly fileStem: string;
}

/**
 * `--tool NAME|PATH` as the key names it. A built-in is its name: its code is the bridge's, which
 * the bridge digest covers wherever the bridge file sits. A user tool keeps its resolved path (the
 * daemon imports it from there) plus its content digest.
 */
export function daemonTool(spec: string, cwd: string): DaemonTool {
  if (builtinToolNames().includes(spec)) return { spec, id: `builtin:${spec}`, digest: "in-bridge" };
  const url = resolveToolModule(spec, cwd);
  return { spec: url, id: url, digest: url.startsWith("file:") ? sha256Hex(readFileSync(fileURLToPath(url))) : "not-a-file" };
}

/** Computes the key for this process's node, this bridge build and the given tool. */
export function computeDaemonKey(tool: DaemonTool, startupArgs: readonly string[], hostSettings: DaemonHostSettings): DaemonKey {
  const parts: DaemonKeyParts = {
    bridge: runningBridge().digest,
    node: process.execPath,
    nodeVersion: process.version,
    tool: tool.id,
    toolDigest: tool.digest,
    startupArgs: [...startupArgs],
    hostSettings: {
      host: hostSettings.host,
      concurrency: hostSettings.concurrency,
      tools: hostSettings.tools,
      abortGraceMs: hostSettings.abortGraceMs,
      maxRequestsPerTool: hostSettings.maxRequestsPerTool,
      maxToolMemoryMb: hostSettings.maxToolMemoryMb,
    },
  };
  const digest = sha256Hex(JSON.stringify(parts));
  return { parts, digest, fileStem: `d-${digest.slice(0, 24)}` };
}
