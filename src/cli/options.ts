import type { LogFormat, LogLevel } from "../core/logger.js";
import { isLogLevel } from "../core/logger.js";
import type { HostKind } from "../supervisor/create-host.js";
import { BridgeError } from "../errors.js";

/** Everything the bridge itself understands on its command line. */
export interface BridgeOptions {
  tool: string | undefined;
  persistentWorker: boolean;
  protocol: "proto" | "json";
  /** `--concurrency`; undefined = the runtime's default for the tool (`defaultConcurrency`). */
  concurrency: number | undefined;
  host: HostKind;
  /** Tool processes (`--tool-processes`); undefined = derived from concurrency and the tool's own capacity. */
  toolProcesses: number | undefined;
  shutdownGraceMs: number;
  /** After an abort, how long a tool gets before its process is killed (hard cancel). */
  abortGraceMs: number;
  maxMessageBytes: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  record: string | undefined;
  maxRequestsPerTool: number | undefined;
  maxToolMemoryMb: number | undefined;
  /** `--daemon[=on|off|require]` / `--no-daemon`; undefined = decided by WORKER_BRIDGE_DAEMON. */
  daemon: DaemonMode | undefined;
  /** `--daemon-dir`; undefined = WORKER_BRIDGE_DAEMON_DIR, else the per-user default. */
  daemonDir: string | undefined;
  /** A daemon exits after this long with nothing to do. */
  daemonIdleMs: number;
  /** Everything that is not a bridge flag, in order: the tool's startup arguments. */
  toolArgs: string[];
}

/** on: use a warm daemon, fall back in-process; require: fail instead of falling back (tests, CI). */
export type DaemonMode = "on" | "off" | "require";

/** The flag wins over WORKER_BRIDGE_DAEMON, which lets an executor's admin turn it on fleet-wide. */
export function resolveDaemonMode(options: BridgeOptions, env: NodeJS.ProcessEnv): DaemonMode {
  if (options.daemon !== undefined) return options.daemon;
  const value = env.WORKER_BRIDGE_DAEMON;
  if (value === undefined || value === "") return "off";
  return parseDaemonMode(value, "WORKER_BRIDGE_DAEMON");
}

export function parseDaemonMode(value: string, where: string): DaemonMode {
  if (value === "on" || value === "off" || value === "require") return value;
  throw new UsageError(`${where} expects on, off or require, got ${JSON.stringify(value)}`);
}

export class UsageError extends BridgeError {
  override readonly name = "UsageError";
}

type Setter = (o: BridgeOptions, value: string, flag: string) => void;

function positiveInt(flag: string, value: string, min = 1): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} expects an integer >= ${min}, got ${JSON.stringify(value)}`);
  return Number(value);
}

const VALUE_FLAGS: Record<string, Setter> = {
  "--tool": (o, v) => {
    o.tool = v;
  },
  "--protocol": (o, v, f) => {
    if (v !== "proto" && v !== "json") throw new UsageError(`${f} expects proto or json, got ${JSON.stringify(v)}`);
    o.protocol = v;
  },
  "--concurrency": (o, v, f) => {
    o.concurrency = positiveInt(f, v);
  },
  "--host": (o, v, f) => {
    if (v !== "process" && v !== "thread" && v !== "inline") throw new UsageError(`${f} expects process, thread or inline, got ${JSON.stringify(v)}`);
    o.host = v;
  },
  "--tool-processes": (o, v, f) => {
    o.toolProcesses = positiveInt(f, v);
  },
  // The flag's first name, one letter away from --tool; kept so existing command lines still work.
  "--tools": (o, v, f) => {
    o.toolProcesses = positiveInt(f, v);
  },
  "--shutdown-grace-ms": (o, v, f) => {
    o.shutdownGraceMs = positiveInt(f, v, 0);
  },
  "--abort-grace-ms": (o, v, f) => {
    o.abortGraceMs = positiveInt(f, v, 0);
  },
  "--max-message-mb": (o, v, f) => {
    o.maxMessageBytes = positiveInt(f, v) * 1024 * 1024;
  },
  "--log-level": (o, v, f) => {
    if (!isLogLevel(v)) throw new UsageError(`${f} expects silent|error|warn|info|debug|trace, got ${JSON.stringify(v)}`);
    o.logLevel = v;
  },
  "--log-format": (o, v, f) => {
    if (v !== "text" && v !== "json") throw new UsageError(`${f} expects text or json, got ${JSON.stringify(v)}`);
    o.logFormat = v;
  },
  "--record": (o, v) => {
    o.record = v;
  },
  "--max-requests-per-tool": (o, v, f) => {
    o.maxRequestsPerTool = positiveInt(f, v);
  },
  "--max-tool-memory-mb": (o, v, f) => {
    o.maxToolMemoryMb = positiveInt(f, v);
  },
  "--daemon-dir": (o, v) => {
    o.daemonDir = v;
  },
  "--daemon-idle-ms": (o, v, f) => {
    o.daemonIdleMs = positiveInt(f, v);
  },
};

export function defaultOptions(): BridgeOptions {
  return {
    tool: undefined,
    persistentWorker: false,
    protocol: "proto",
    concurrency: undefined,
    host: "process",
    toolProcesses: undefined,
    shutdownGraceMs: 2000,
    abortGraceMs: 3000,
    maxMessageBytes: 256 * 1024 * 1024,
    logLevel: "warn",
    logFormat: "text",
    record: undefined,
    maxRequestsPerTool: undefined,
    maxToolMemoryMb: undefined,
    daemon: undefined,
    daemonDir: undefined,
    daemonIdleMs: 10 * 60_000,
    toolArgs: [],
  };
}

/**
 * Parses the bridge's argv. Bridge flags are recognised anywhere (Bazel appends extra flags after
 * `--persistent_worker`) in both `--name=value` and `--name value` forms; `--` ends bridge flags;
 * everything else is passed to the tool in order.
 */
export function parseOptions(argv: readonly string[]): BridgeOptions {
  const o = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      o.toolArgs.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "--persistent_worker") {
      o.persistentWorker = true;
      continue;
    }
    // A switch, not a value flag: `--daemon` must never swallow the argument after it.
    if (arg === "--daemon" || arg === "--no-daemon") {
      o.daemon = arg === "--daemon" ? "on" : "off";
      continue;
    }
    if (arg.startsWith("--daemon=")) {
      o.daemon = parseDaemonMode(arg.slice("--daemon=".length), "--daemon");
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const setter = VALUE_FLAGS[name];
    if (!setter) {
      o.toolArgs.push(arg);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${name} expects a value`);
      value = next;
      i++;
    }
    setter(o, value, name);
  }
  return o;
}

export const BRIDGE_FLAGS_HELP = `worker-bridge --tool NAME|PATH [bridge flags] [tool startup args] [@argfile ...]

Modes: WORKER_SOCKET set -> Buck2 gRPC worker; --persistent_worker anywhere -> Bazel worker on
stdin/stdout; otherwise one-shot (argfiles expanded, tool run once, exit with its code).

  --tool NAME|PATH            built-in tool (probe, tsc) or a module that default-exports defineTool(...)
  --protocol proto|json       Bazel wire format (must match requires-worker-protocol); default proto
  --concurrency N             jobs running at once; default: CPU count, or the tool's
                              maxConcurrentJobs when that is higher
  --host process|thread|inline
                              run the tool in child processes (default), in worker threads of the
                              bridge (its own heap, not its own process), or inside the bridge
  --tool-processes N          tool processes (process host) or threads (thread host); default:
                              enough for --concurrency, <= CPUs
                              (--tools N is the old spelling)
  --shutdown-grace-ms MS      shutdown bound; default 2000. Bazel (SIGTERM/EOF): running jobs are
                              aborted at once and the worker exits within MS. Buck2 (SIGTERM):
                              running jobs get MS to finish, then are aborted
  --abort-grace-ms MS         time an aborted job gets before its tool process is killed; default 3000
  --max-message-mb N          largest request accepted; default 256
  --max-requests-per-tool N   recycle a tool process (or thread) after N requests
  --max-tool-memory-mb N      recycle a tool process above this RSS (a thread: above this JS heap;
                              its heap is capped at twice this)
  --log-level LEVEL           silent|error|warn|info|debug|trace; default warn
  --log-format text|json      log line format on stderr
  --record DIR                write every request and its result to DIR (see 'worker-bridge replay')
  --daemon[=on|off|require]   one-shot: run the request in a warm per-user daemon, starting one if
                              needed; on = fall back in-process (one stderr line saying why),
                              require = fail instead. Also WORKER_BRIDGE_DAEMON=on|off|require.
                              --no-daemon = off. See docs/daemon.md
  --daemon-dir DIR            where daemons' sockets live; default $XDG_RUNTIME_DIR/worker-bridge,
                              else /tmp/worker-bridge-<uid> (also WORKER_BRIDGE_DAEMON_DIR)
  --daemon-idle-ms MS         a daemon exits after MS with no request; default 600000
  worker-bridge daemon start|status|stop [--daemon-dir DIR] [flags as for a one-shot run]
  --                          pass everything after it to the tool`;
