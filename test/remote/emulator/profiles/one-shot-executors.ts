import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ExecutorBase, oneShotResult, type EmulatorOptions } from "../executor-base.js";
import { collectOutputs, materializeInputs } from "../input-root.js";
import { runOneShot } from "../one-shot.js";
import { notRun, type ActionResult, type PlatformProperty, type RemoteAction, type RemoteExecutor } from "../remote-action.js";

/** Any REAPI executor without worker support: the command line runs once, exactly as sent. */
export class PlainExecutor extends ExecutorBase implements RemoteExecutor {
  readonly profile: "plain" | "buildbarn" = "plain";

  constructor(options: EmulatorOptions = {}) {
    super("plain", options);
  }

  livePids(): number[] {
    return [];
  }

  async execute(action: RemoteAction): Promise<ActionResult> {
    return this.runInActionDir(action);
  }

  /** Where the command runs, inside the fresh per-action directory (Buildbarn: `<random>/root`). */
  protected readonly inputRootName: string | undefined = undefined;
  /** Whether input files are read-only, as a Buildbarn worker's hard-linked cache files are. */
  protected readonly readOnlyInputs: boolean = false;

  protected async runInActionDir(action: RemoteAction): Promise<ActionResult> {
    const actionRoot = await this.newDir("actions");
    const actionDir = this.inputRootName === undefined ? actionRoot : join(actionRoot, this.inputRootName);
    try {
      await mkdir(actionDir, { recursive: true });
      await materializeInputs(actionDir, action.inputRoot, { readOnly: this.readOnlyInputs });
      const timeoutMs = this.timeoutFor(action);
      const run = await runOneShot(action.arguments, { cwd: actionDir, env: this.envFor(action), timeoutMs });
      return oneShotResult(run, action.arguments, await collectOutputs(actionDir, action.outputPaths), timeoutMs);
    } finally {
      await rm(actionRoot, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.removeRoot();
  }
}

export interface BuildbarnOptions extends EmulatorOptions {
  /** `actionRouter.simple.platformKeyExtractor`: `action` (what Buildbarn's examples use) or `static`. */
  readonly platformKeyExtractor?: "action" | "static";
  /** The platform the runners (bb_worker) register with; `platform: {}` by default. */
  readonly workerPlatform?: readonly PlatformProperty[];
  /**
   * `platformQueueWithNoWorkersTimeout` (e.g. 900 s in production; short in tests). For a platform
   * no runner has, it is only a grace window counted from the scheduler's start (here: the
   * executor's creation): inside it the answer is UNAVAILABLE (clients retry), after it
   * FAILED_PRECONDITION. The action is refused at once either way, never queued.
   */
  readonly platformQueueWithNoWorkersTimeoutMs?: number;
  readonly instanceNamePrefix?: string;
}

/**
 * Buildbarn (docs/protocol/remote-executors.md §7; checked against a real cluster by
 * test/buildbarn/emulator-drift.buildbarn.test.ts): never persistent. bb_runner runs the command in
 * `<build directory>/<random>/root`, with read-only input files and exactly the client's
 * environment (the default `baseEnv` is empty). With the `action` platform key extractor the queue
 * is keyed on the action's whole platform (Bazel 4.2.3 fills Action.platform too), so an action that
 * carries `persistentWorkerKey` matches no runner registered with `platform: {}` and is refused:
 * UNAVAILABLE during the grace window after the scheduler's start, FAILED_PRECONDITION after it.
 * With the `static` extractor the client's platform is ignored and it runs one-shot.
 */
export class BuildbarnExecutor extends PlainExecutor {
  override readonly profile = "buildbarn" as const;
  protected override readonly inputRootName = "root";
  protected override readonly readOnlyInputs = true;
  private readonly startedAt = performance.now();

  constructor(private readonly bbOptions: BuildbarnOptions = {}) {
    super({ ...bbOptions, baseEnv: bbOptions.baseEnv ?? {} });
  }

  override async execute(action: RemoteAction): Promise<ActionResult> {
    const extractor = this.bbOptions.platformKeyExtractor ?? "action";
    if (extractor === "action" && !samePlatform(action.platform, this.bbOptions.workerPlatform ?? [])) {
      const window = this.bbOptions.platformQueueWithNoWorkersTimeoutMs ?? 900_000;
      return notRun(
        performance.now() - this.startedAt < window ? "UNAVAILABLE" : "FAILED_PRECONDITION",
        `No workers exist for instance name prefix ${JSON.stringify(this.bbOptions.instanceNamePrefix ?? "")} platform ${platformString(action.platform)}`,
      );
    }
    return this.runInActionDir(action);
  }
}

function sorted(platform: readonly PlatformProperty[]): PlatformProperty[] {
  return [...platform].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

function samePlatform(a: readonly PlatformProperty[], b: readonly PlatformProperty[]): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

/** protojson of the normalized (sorted) `Platform`, as the scheduler prints it. */
function platformString(platform: readonly PlatformProperty[]): string {
  return JSON.stringify({ properties: sorted(platform).map((p) => ({ name: p.name, value: p.value })) });
}
