import { BridgeError, bridgeMessage, errorText, EXIT_CODES } from "../errors.js";
import { installOutputCapture, writeStderr } from "../supervisor/output-capture.js";
import { BRIDGE_FLAGS_HELP, parseOptions, resolveDaemonMode, type BridgeOptions } from "./options.js";

// Every front door, the runtime and the tools are imported only by the mode that needs them: a
// one-shot run is mostly Node's own start-up, and each module loaded adds to every build action
// (docs/daemon.md, "A fast client").

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
    return EXIT_CODES.ok;
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
      // Imported only here: the gRPC stack is the heaviest part of the bridge to load.
      const { serveBuck2 } = await import("../frontends/buck2/serve.js");
      const { createRuntime } = await import("../runtime/runtime.js");
      const { runtimeOptions } = await import("./runtime-options.js");
      return await serveBuck2(() => createRuntime(runtimeOptions(options)), {
        socketPath: process.env.WORKER_SOCKET!,
        maxMessageBytes: options.maxMessageBytes,
        shutdownGraceMs: options.shutdownGraceMs,
      });
    }
    if (mode === "bazel") {
      const { serveBazel } = await import("../frontends/bazel/serve.js");
      const { createRuntime } = await import("../runtime/runtime.js");
      const { runtimeOptions } = await import("./runtime-options.js");
      return await serveBazel(() => createRuntime(runtimeOptions(options)), {
        format: options.protocol,
        maxMessageBytes: options.maxMessageBytes,
        shutdownGraceMs: options.shutdownGraceMs,
        write: protocolWrite,
      });
    }
    const { splitOneShotArgs } = await import("../frontends/oneshot/run-once.js");
    const { startupArgs, requestArgs } = splitOneShotArgs(options.toolArgs);
    const daemonMode = resolveDaemonMode(options, process.env);
    if (daemonMode !== "off") {
      const { oneShotThroughDaemon } = await import("./daemon-mode.js");
      const code = await oneShotThroughDaemon(options, daemonMode, startupArgs, requestArgs);
      if (code !== undefined) return code;
    }
    const { serveOneShot } = await import("../frontends/oneshot/serve.js");
    const { createRuntime } = await import("../runtime/runtime.js");
    const { runtimeOptions } = await import("./runtime-options.js");
    // One process, one job: hosting the tool in a child would only add a process start.
    return await serveOneShot(() => createRuntime(runtimeOptions(options, { host: "inline", startupArgs })), { requestArgs });
  } catch (err) {
    return usageFailure(err);
  }
}


/** Errors raised on purpose (bad flags, a tool that cannot load, an unwritable record dir) are usage errors. */
function usageFailure(err: unknown): number {
  writeStderr(`${bridgeMessage(errorText(err))}\n`);
  return err instanceof BridgeError ? EXIT_CODES.usage : EXIT_CODES.failure;
}
