import { BazelWorker } from "../frontends/bazel/bazel-worker.js";
import { runOnce, splitOneShotArgs } from "../frontends/oneshot/run-once.js";
import { installOutputCapture, writeStderr } from "../supervisor/output-capture.js";
import { ToolLoadError } from "../tools/load-tool.js";
import { BRIDGE_FLAGS_HELP, parseOptions, UsageError, type BridgeOptions } from "./options.js";
import { createRuntime } from "./runtime.js";

export type Mode = "buck2" | "bazel" | "oneshot";

/** `WORKER_SOCKET` wins (Buck2 adds no argv), then `--persistent_worker` (Bazel), else one-shot. */
export function detectMode(options: BridgeOptions, env: NodeJS.ProcessEnv): Mode {
  if (env.WORKER_SOCKET !== undefined && env.WORKER_SOCKET !== "") return "buck2";
  if (options.persistentWorker) return "bazel";
  return "oneshot";
}

/** Runs the CLI; resolves with the exit code. Never throws for user errors. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "daemon") {
    const { daemonCommand } = await import("./daemon-command.js");
    try {
      return await daemonCommand(argv.slice(1), (text) => void process.stdout.write(text));
    } catch (err) {
      return usageFailure(err);
    }
  }
  // Before anything else can print: fd 1 belongs to the protocol from here on.
  const { protocolWrite } = installOutputCapture();
  if (argv[0] === "replay") {
    const { replayMain } = await import("./replay.js");
    return replayMain(argv.slice(1));
  }
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h")) {
    writeStderr(`${BRIDGE_FLAGS_HELP}\n`);
    return 0;
  }
  let options: BridgeOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    return usageFailure(err);
  }
  const mode = detectMode(options, process.env);
  try {
    if (mode === "buck2") {
      const { serveBuck2 } = await import("../frontends/buck2/serve.js");
      return await serveBuck2(options, process.env.WORKER_SOCKET!);
    }
    if (mode === "bazel") return await serveBazel(options, protocolWrite);
    return await oneShot(options);
  } catch (err) {
    return usageFailure(err);
  }
}

function usageFailure(err: unknown): number {
  if (err instanceof UsageError || err instanceof ToolLoadError) {
    writeStderr(`worker-bridge: ${err.message}\n`);
    return 2;
  }
  writeStderr(`worker-bridge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

async function oneShot(options: BridgeOptions): Promise<number> {
  const { startupArgs, requestArgs } = splitOneShotArgs(options.toolArgs);
  const { resolveDaemonMode, oneShotThroughDaemon } = await import("./daemon-mode.js");
  const daemonMode = resolveDaemonMode(options, process.env);
  if (daemonMode !== "off") {
    const code = await oneShotThroughDaemon(options, daemonMode, startupArgs, requestArgs);
    if (code !== undefined) return code;
  }
  // One process, one job: hosting the tool in a child would only add a process start.
  const runtime = await createRuntime(options, { host: "inline", startupArgs });
  const result = await runOnce(runtime.dispatcher, requestArgs, process.cwd());
  if (result.output.length > 0) writeStderr(result.output.endsWith("\n") ? result.output : `${result.output}\n`);
  await runtime.close(0);
  return result.exitCode;
}

async function serveBazel(
  options: BridgeOptions,
  protocolWrite: (data: Uint8Array, cb: (err?: Error | null) => void) => boolean,
): Promise<number> {
  const runtime = await createRuntime(options);
  const worker = new BazelWorker({
    format: options.protocol,
    dispatcher: runtime.dispatcher,
    input: process.stdin,
    write: protocolWrite,
    cwd: process.cwd(),
    logger: runtime.logger,
    maxMessageBytes: options.maxMessageBytes,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  process.stdout.on("error", (err) => worker.outputClosed(err));
  const onSignal = (): void => void worker.stop("signal", 0);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  worker.start();
  const code = await worker.done;
  await Promise.race([runtime.host.close(), delay(options.shutdownGraceMs)]);
  runtime.logSummary();
  return code;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
