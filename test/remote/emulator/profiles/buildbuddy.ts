import { rm } from "node:fs/promises";
import { ExecutorBase, oneShotResult, shuffled, type EmulatorOptions } from "../executor-base.js";
import { expandBuildBuddyFlagfiles, FlagfileExpansionError, splitFlagfileArgs } from "../flagfiles.js";
import { collectOutputs, inputDigests, materializeInputs, wipeDirectory } from "../input-root.js";
import { runOneShot } from "../one-shot.js";
import { encodeDigestProto } from "../reapi-digest.js";
import {
  isTrue,
  notRun,
  platformValue,
  type ActionResult,
  type RemoteAction,
  type RemoteExecutor,
} from "../remote-action.js";
import { encodeRequestJson, encodeRequestProto, seededRandom, type ExecutorWorkRequest, type WorkerWire } from "../work-messages.js";
import { WorkerProcess } from "../worker-process.js";

export interface BuildBuddyOptions extends EmulatorOptions {
  readonly profile?: "buildbuddy-proto" | "buildbuddy-json";
  /** An API-key build; anonymous builds may not recycle runners (default true). */
  readonly authenticated?: boolean;
  /**
   * The executor's termination grace period: on a deadline the container gets SIGTERM and this
   * long to exit before it is killed. 0 (the default in BuildBuddy) kills at once.
   */
  readonly terminationGraceMs?: number;
  /** The §4.5 open point: also discard the runner after a non-zero exit (default false). */
  readonly discardRunnerOnFailure?: boolean;
  /** Records every request sent, for wire assertions. */
  readonly onRequest?: (sent: SentRequest) => void;
}

export interface SentRequest {
  readonly wire: WorkerWire;
  readonly bytes: Buffer;
  readonly request: ExecutorWorkRequest;
  readonly workerPid: number | undefined;
}

/** A runner: a workspace (the input root) plus at most one worker process, one task at a time. */
interface Runner {
  readonly key: string;
  readonly workspace: string;
  worker: WorkerProcess | undefined;
}

/** The time BuildBuddy waits for a removed runner's worker to exit after closing its stdin. */
const WORKER_STOP_WAIT_MS = 10_000;

/**
 * BuildBuddy's executor (docs/protocol/remote-executors.md §4, §10.2): recycled runners keyed by the
 * byte-identical RunnerKey, a lazily started worker in the runner workspace with the first task's
 * env, expanded flagfiles, serialized REAPI Digests as input digests, `output` → stderr.
 */
export class BuildBuddyExecutor extends ExecutorBase implements RemoteExecutor {
  readonly profile: "buildbuddy-proto" | "buildbuddy-json";
  private readonly paused: Runner[] = [];
  private readonly busy = new Set<Runner>();
  private readonly random: () => number;

  constructor(private readonly options: BuildBuddyOptions = {}) {
    super("buildbuddy", options);
    this.profile = options.profile ?? "buildbuddy-proto";
    this.random = seededRandom(options.seed ?? 0x5eed);
  }

  livePids(): number[] {
    return [...this.paused, ...this.busy].flatMap((r) => (r.worker?.alive && r.worker.pid !== undefined ? [r.worker.pid] : []));
  }

  async execute(action: RemoteAction): Promise<ActionResult> {
    const recycle = isTrue(platformValue(action.platform, "recycle-runner"));
    if (recycle && this.options.authenticated === false) {
      return notRun("INVALID_ARGUMENT", "runner recycling is not supported for anonymous builds (recycling was requested via platform property \"recycle-runner=true\")");
    }
    const { workerArgs, flagfiles } = splitFlagfileArgs(action.arguments);
    const workerKey = persistentWorkerKey(action, workerArgs, flagfiles);
    const runnerKey = JSON.stringify({ platform: action.platform, persistentWorkerKey: workerKey });
    const runner = (recycle ? this.take(runnerKey) : undefined) ?? { key: runnerKey, workspace: await this.newDir("workspaces"), worker: undefined };
    this.busy.add(runner);
    let keep = recycle;
    try {
      await wipeDirectory(runner.workspace);
      await materializeInputs(runner.workspace, action.inputRoot);
      if (!recycle || workerKey === "") {
        // Container.Run: the whole command line, one shot, no --persistent_worker.
        const run = await runOneShot(action.arguments, { cwd: runner.workspace, env: this.envFor(action), timeoutMs: this.timeoutFor(action) });
        return oneShotResult(run, action.arguments, await collectOutputs(runner.workspace, action.outputPaths), this.timeoutFor(action));
      }
      const outcome = await this.runPersistent(runner, action, workerArgs, flagfiles);
      if (outcome.discard) keep = false;
      return outcome.result;
    } finally {
      this.busy.delete(runner);
      if (keep) {
        await wipeDirectory(runner.workspace);
        this.paused.push(runner);
      } else {
        await rm(runner.workspace, { recursive: true, force: true });
      }
    }
  }

  private take(key: string): Runner | undefined {
    const i = this.paused.findIndex((r) => r.key === key);
    if (i < 0) return undefined;
    return this.paused.splice(i, 1)[0];
  }

  private async runPersistent(
    runner: Runner,
    action: RemoteAction,
    workerArgs: string[],
    flagfiles: string[],
  ): Promise<{ result: ActionResult; discard: boolean }> {
    const protocol = platformValue(action.platform, "persistentWorkerProtocol") ?? "";
    if (protocol !== "" && protocol !== "proto" && protocol !== "json") {
      return { result: notRun("INVALID_ARGUMENT", `unsupported persistent worker protocol ${JSON.stringify(protocol)}`), discard: true };
    }
    const wire: WorkerWire = protocol === "json" ? "json" : "proto";
    const argv = [...workerArgs, "--persistent_worker"];
    let started = false;
    if (runner.worker === undefined || !runner.worker.alive) {
      // Lazily, in the workspace, with this (the first) task's env: later tasks inherit it.
      runner.worker = new WorkerProcess({ argv, cwd: runner.workspace, env: this.envFor(action), wire });
      started = true;
    }
    const worker = runner.worker;
    const trace = { path: "persistent" as const, argv: worker.options.argv, ...(worker.pid !== undefined ? { workerPid: worker.pid } : {}), workerStarted: started };
    let args: string[];
    try {
      args = await expandBuildBuddyFlagfiles(runner.workspace, flagfiles);
    } catch (err) {
      if (!(err instanceof FlagfileExpansionError)) throw err;
      // The task fails before anything reaches the worker; the worker itself is fine.
      return { result: { ...notRun("INTERNAL", `failed to expand flag files: ${err.message}`), execution: trace }, discard: false };
    }
    const inputs = shuffled(inputDigests(action.inputRoot), this.random).map((i) => ({ path: i.path, digest: encodeDigestProto(i.digest) }));
    const request: ExecutorWorkRequest = { arguments: args, inputs };
    const bytes = wire === "json" ? encodeRequestJson(request, this.random) : encodeRequestProto(request);
    this.options.onRequest?.({ wire, bytes, request, workerPid: worker.pid });
    const timeoutMs = this.timeoutFor(action);
    const outcome = await worker.exec(bytes, timeoutMs);
    if (!outcome.ok) {
      if (outcome.kind === "timeout") {
        // No message reaches the worker: the container is terminated (SIGTERM when a grace period
        // is configured), which is the only thing that unblocks a hung request.
        const grace = this.options.terminationGraceMs ?? 0;
        const how = await worker.stop(grace > 0 ? { signal: "SIGTERM", graceMs: grace } : { signal: "SIGKILL", graceMs: 5_000 });
        return {
          result: { ...notRun("DEADLINE_EXCEEDED", `${outcome.message}; persistent worker stderr: ${outcome.stderr}`), execution: { ...trace, workerStopped: how } },
          discard: true,
        };
      }
      const how = await worker.stop({ graceMs: WORKER_STOP_WAIT_MS });
      const reason = worker.spawnError ?? outcome.message;
      return {
        result: { ...notRun("UNAVAILABLE", `${reason}; persistent worker stderr: ${outcome.stderr}`), execution: { ...trace, workerStopped: how } },
        discard: true,
      };
    }
    const { exitCode, output } = outcome.response;
    const result: ActionResult = {
      status: { code: "OK", message: "" },
      exitCode,
      stdout: "",
      stderr: output,
      outputFiles: await collectOutputs(runner.workspace, action.outputPaths),
      execution: trace,
    };
    return { result, discard: exitCode !== 0 && this.options.discardRunnerOnFailure === true };
  }

  async close(): Promise<void> {
    const runners = [...this.paused, ...this.busy];
    this.paused.length = 0;
    await Promise.all(runners.map((r) => r.worker?.stop({ graceMs: WORKER_STOP_WAIT_MS })));
    await this.removeRoot();
  }
}

/** The explicit key, or with `persistent-workers=true` one derived from the worker args (needs a flagfile). */
function persistentWorkerKey(action: RemoteAction, workerArgs: string[], flagfiles: string[]): string {
  const explicit = platformValue(action.platform, "persistentWorkerKey") ?? "";
  if (explicit !== "") return explicit;
  if (isTrue(platformValue(action.platform, "persistent-workers")) && flagfiles.length > 0) return workerArgs.join(" ");
  return "";
}
