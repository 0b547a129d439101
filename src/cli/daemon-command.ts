import { listDaemons, countFallbacks, stopDaemons } from "../daemon/admin.js";
import { startDaemon } from "../daemon/client.js";
import { daemonPaths, ensurePrivateDir, DaemonDirError } from "../daemon/daemon-dir.js";
import { computeDaemonKey } from "../daemon/key.js";
import { clearKillHistory } from "../daemon/start-history.js";
import { daemonTarget, resolveDaemonDir } from "./daemon-mode.js";
import { parseOptions, UsageError, type BridgeOptions } from "./options.js";

const USAGE = `usage: worker-bridge daemon status [--daemon-dir DIR]
       worker-bridge daemon stop [--daemon-dir DIR]
       worker-bridge daemon start [--daemon-dir DIR] --tool NAME|PATH [bridge flags] [tool startup args]`;

/** `worker-bridge daemon start|status|stop|serve`. Writes its report to `out`; resolves with the exit code. */
export async function daemonCommand(argv: readonly string[], out: (text: string) => void): Promise<number> {
  const sub = argv[0];
  const rest = argv.slice(1);
  if (sub === "serve") return serve(rest);
  if (sub !== "status" && sub !== "stop" && sub !== "start") throw new UsageError(`unknown daemon command ${JSON.stringify(sub ?? "")}\n${USAGE}`);
  const options = parseOptions(rest);
  const dir = resolveDaemonDir(options, process.env);
  if (sub === "status") {
    const daemons = await listDaemons(dir);
    out(`daemon directory ${dir}: ${daemons.length} daemon(s), ${countFallbacks(dir)} in-process fallback(s) logged\n`);
    for (const d of daemons) {
      const s = d.status;
      if (s) {
        out(`pid ${s.pid} serving tool ${s.tool} [${s.startupArgs.join(" ")}] since ${s.startedAt}: ${s.requests} request(s), ${s.inFlight} in flight, idle exit after ${s.idleTimeoutMs} ms; log ${d.info.log}\n`);
      } else {
        out(`pid ${d.info.pid} ${d.alive ? "running but not answering" : "gone (killed; its info file is stale)"}; log ${d.info.log}\n`);
      }
    }
    return 0;
  }
  if (sub === "stop") {
    for (const line of await stopDaemons(dir)) out(`${line}\n`);
    return 0;
  }
  // start: the same command line a one-shot action runs, minus the request.
  const target = daemonTarget(options, options.toolArgs, process.env, process.cwd());
  ensurePrivateDir(dir, process.getuid!());
  const paths = daemonPaths(dir, target.key.fileStem);
  clearKillHistory(paths.deaths);
  const started = await startDaemon(paths, { ...target, env: process.env as Record<string, string> }, "ENOENT");
  if ("reason" in started) {
    out(`worker-bridge: could not start the daemon: ${started.reason}\n`);
    return 1;
  }
  started.socket.destroy();
  out(`daemon for key ${target.key.digest.slice(0, 12)} is running; socket ${paths.socket}\n`);
  return 0;
}

/** The daemon process itself (started by a client, never by hand). */
async function serve(argv: readonly string[]): Promise<number> {
  let expected: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a.startsWith("--daemon-key=")) expected = a.slice("--daemon-key=".length);
    else rest.push(a);
  }
  const options: BridgeOptions = parseOptions(rest);
  if (options.tool === undefined || expected === undefined || options.daemonDir === undefined) {
    throw new UsageError("daemon serve needs --tool, --daemon-key and --daemon-dir (clients start it; see 'worker-bridge daemon start')");
  }
  const startupArgs = options.toolArgs;
  const key = computeDaemonKey(options.tool, startupArgs, options);
  if (key.digest !== expected) {
    // The tool or the bridge changed between the client's look and our start: serving would
    // answer for a key we are not.
    process.stderr.write(`worker-bridge daemon: my key ${key.digest.slice(0, 12)} is not the requested ${expected.slice(0, 12)} (tool or bridge changed?); exiting\n`);
    return 4;
  }
  try {
    ensurePrivateDir(options.daemonDir, process.getuid!());
  } catch (err) {
    if (err instanceof DaemonDirError) {
      process.stderr.write(`worker-bridge daemon: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const paths = daemonPaths(options.daemonDir, key.fileStem);
  // Jobs get each client's whole env with its request; with the daemon's own env emptied, nothing
  // of whichever client started us can leak into another client's job.
  for (const name of Object.keys(process.env)) delete process.env[name];
  const { createRuntime } = await import("./runtime.js");
  const runtime = await createRuntime(options, { startupArgs });
  const { serveDaemon } = await import("../frontends/daemon/serve.js");
  return serveDaemon(runtime, {
    key,
    socketPath: paths.socket,
    infoPath: paths.info,
    logPath: paths.log,
    idleTimeoutMs: options.daemonIdleMs,
    shutdownGraceMs: options.shutdownGraceMs,
    tool: options.tool,
    startupArgs,
  });
}
