import { runThroughDaemon } from "../daemon/client.js";
import { defaultDaemonDir } from "../daemon/daemon-dir.js";
import { computeDaemonKey, daemonTool, type DaemonHostSettings, type DaemonKey } from "../daemon/key.js";
import { writeStderr } from "../supervisor/output-capture.js";
import { type BridgeOptions, UsageError } from "./options.js";

export function resolveDaemonDir(options: BridgeOptions, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.WORKER_BRIDGE_DAEMON_DIR;
  return options.daemonDir ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : defaultDaemonDir(env, process.getuid!()));
}

/** The flags that shape how a daemon hosts its tool: part of the key. */
export function daemonHostSettings(options: BridgeOptions): DaemonHostSettings {
  return {
    host: options.host,
    concurrency: options.concurrency,
    tools: options.toolProcesses,
    abortGraceMs: options.abortGraceMs,
    maxRequestsPerTool: options.maxRequestsPerTool,
    maxToolMemoryMb: options.maxToolMemoryMb,
  };
}

export interface DaemonTarget {
  readonly dir: string;
  readonly key: DaemonKey;
  readonly serveArgs: string[];
}

/** The key for this command line's tool and settings, and how to start a daemon for it. */
export function daemonTarget(options: BridgeOptions, startupArgs: readonly string[], env: NodeJS.ProcessEnv, cwd: string): DaemonTarget {
  if (options.tool === undefined) throw new UsageError("--tool NAME|PATH is required (built-in tools: probe, tsc)");
  const tool = daemonTool(options.tool, cwd);
  const key = computeDaemonKey(tool, startupArgs, daemonHostSettings(options));
  const dir = resolveDaemonDir(options, env);
  const serveArgs = [
    `--daemon-dir=${dir}`,
    `--daemon-key=${key.digest}`,
    `--daemon-idle-ms=${options.daemonIdleMs}`,
    `--host=${options.host}`,
    ...(options.concurrency !== undefined ? [`--concurrency=${options.concurrency}`] : []),
    ...(options.toolProcesses !== undefined ? [`--tool-processes=${options.toolProcesses}`] : []),
    `--abort-grace-ms=${options.abortGraceMs}`,
    ...(options.maxRequestsPerTool !== undefined ? [`--max-requests-per-tool=${options.maxRequestsPerTool}`] : []),
    ...(options.maxToolMemoryMb !== undefined ? [`--max-tool-memory-mb=${options.maxToolMemoryMb}`] : []),
    `--shutdown-grace-ms=${options.shutdownGraceMs}`,
    `--log-level=${options.logLevel}`,
    `--log-format=${options.logFormat}`,
    `--tool=${tool.spec}`,
    "--",
    ...startupArgs,
  ];
  return { dir, key, serveArgs };
}

/**
 * One-shot through the daemon. Resolves with the tool's exit code, or undefined when the caller
 * must run the request in-process (after one stderr line saying why). With `require` a daemon
 * that cannot serve is an error (exit 2) instead.
 */
export async function oneShotThroughDaemon(
  options: BridgeOptions,
  mode: "on" | "require",
  startupArgs: readonly string[],
  requestArgs: readonly string[],
): Promise<number | undefined> {
  const env = process.env as Record<string, string>;
  const cwd = process.cwd();
  let reason: string;
  if (options.record !== undefined) reason = "--record writes the records of this process's own jobs";
  else {
    const target = daemonTarget(options, startupArgs, env, cwd);
    const outcome = await runThroughDaemon({ ...target, cwd, argv: requestArgs, env: { ...env } });
    if (outcome.kind === "ran") {
      if (outcome.output.length > 0) writeStderr(outcome.output.endsWith("\n") ? outcome.output : `${outcome.output}\n`);
      return outcome.exitCode;
    }
    reason = outcome.reason;
  }
  if (mode === "require") {
    writeStderr(`worker-bridge: the daemon is required (--daemon=require) but unavailable: ${reason}\n`);
    return 2;
  }
  writeStderr(`worker-bridge: daemon unavailable, running in-process: ${reason}\n`);
  return undefined;
}
