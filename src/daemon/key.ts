import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Host settings that change how a daemon runs jobs; two clients must agree on all of them. */
export interface DaemonHostSettings {
  readonly host: string;
  readonly concurrency: number;
  readonly tools: number | undefined;
  readonly abortGraceMs: number;
  readonly maxRequestsPerTool: number | undefined;
  readonly maxToolMemoryMb: number | undefined;
}

/**
 * Everything that makes two daemons' tool processes interchangeable (docs/daemon.md, "The key").
 * A daemon answers only requests whose key digest equals its own.
 */
export interface DaemonKeyParts {
  /** Package version plus the identity of this build (a rebuild gives a new key). */
  readonly bridge: string;
  readonly node: string;
  readonly nodeVersion: string;
  /** Resolved module URL of the tool. */
  readonly toolModule: string;
  /** sha256 of the tool module's file, or "not-a-file" for non-file URLs. */
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

let bridgeIdentity: string | undefined;

/**
 * The version alone would let a rebuilt bridge at the same version talk to a daemon still running
 * the old code; the build rewrites this module, so its mtime tells builds apart for one stat.
 */
function bridgeId(): string {
  if (bridgeIdentity === undefined) {
    let version = "unknown";
    try {
      version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? version;
    } catch {
      // Installed without its package.json next to dist/: path and mtime still tell builds apart.
    }
    const self = fileURLToPath(import.meta.url);
    bridgeIdentity = `${version} ${self} ${statSync(self).mtimeMs}`;
  }
  return bridgeIdentity;
}

function toolDigest(toolModule: string): string {
  if (!toolModule.startsWith("file:")) return "not-a-file";
  return createHash("sha256").update(readFileSync(new URL(toolModule))).digest("hex");
}

/** Computes the key for this process's node, this bridge build and the given tool. */
export function computeDaemonKey(toolModule: string, startupArgs: readonly string[], hostSettings: DaemonHostSettings): DaemonKey {
  const parts: DaemonKeyParts = {
    bridge: bridgeId(),
    node: process.execPath,
    nodeVersion: process.version,
    toolModule,
    toolDigest: toolDigest(toolModule),
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
  const digest = createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  return { parts, digest, fileStem: `d-${digest.slice(0, 24)}` };
}
