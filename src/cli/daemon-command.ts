import { listDaemons, countFallbacks, stopDaemons } from "../daemon/admin.js";
import { startDaemon } from "../daemon/start-daemon.js";
import { daemonPaths, ensurePrivateDir, DaemonDirError } from "../daemon/daemon-dir.js";
import { bridgeLocation, runningBridge } from "../daemon/bridge-identity.js";
import { computeDaemonKey, daemonTool } from "../daemon/key.js";
import { clearKillHistory } from "../daemon/start-history.js";
import { BridgeVerifier } from "../daemon/verify-bridge.js";
import { daemonHostSettings, daemonTarget, resolveDaemonDir } from "./daemon-mode.js";
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
  try {
    ensurePrivateDir(options.daemonDir, process.getuid!());
  } catch (err) {
    if (err instanceof DaemonDirError) throw new UsageError(err.message);
    throw err;
  }
  const key = computeDaemonKey(daemonTool(options.tool, process.cwd()), startupArgs, daemonHostSettings(options));
  // The key names the digest this bridge claims; a daemon checks its own code against it too.
  const bridge = runningBridge();
  const verifier = new BridgeVerifier(bridge.kind, bridge.digest);
  const ownProblem = verifier.check(bridgeLocation(bridge));
  if (ownProblem !== undefined) {
    process.stderr.write(`worker-bridge daemon: ${ownProblem.replace("the client's bridge", "my own bridge")}; exiting\n`);
    return 4;
  }
  const paths = daemonPaths(options.daemonDir, key.fileStem);
  const { serveDaemon } = await import("../frontends/daemon/serve.js");
  const { createRuntime } = await import("../runtime/runtime.js");
  const { runtimeOptions } = await import("./runtime-options.js");
  return serveDaemon(() => createRuntime(runtimeOptions(options, { startupArgs })), {
    key,
    bridge: verifier,
    expectedKey: expected,
    socketPath: paths.socket,
    infoPath: paths.info,
    logPath: paths.log,
    idleTimeoutMs: options.daemonIdleMs,
    shutdownGraceMs: options.shutdownGraceMs,
    tool: options.tool,
    startupArgs,
  });
}
