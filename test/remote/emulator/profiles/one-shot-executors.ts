import { rm } from "node:fs/promises";
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

  protected async runInActionDir(action: RemoteAction): Promise<ActionResult> {
    const actionDir = await this.newDir("actions");
    try {
      await materializeInputs(actionDir, action.inputRoot);
      const timeoutMs = this.timeoutFor(action);
      const run = await runOneShot(action.arguments, { cwd: actionDir, env: this.envFor(action), timeoutMs });
      return oneShotResult(run, action.arguments, await collectOutputs(actionDir, action.outputPaths), timeoutMs);
    } finally {
      await rm(actionDir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.removeRoot();
  }
}

export interface BuildbarnOptions extends EmulatorOptions {
  /** `actionRouter.simple.platformKeyExtractor`: `action` (the default) or `static`. */
  readonly platformKeyExtractor?: "action" | "static";
  /** The platform the runners (bb_worker) register with; `platform: {}` by default. */
  readonly workerPlatform?: readonly PlatformProperty[];
  /** `platformQueueWithNoWorkersTimeout` (e.g. 900 s in production; short in tests). */
  readonly platformQueueWithNoWorkersTimeoutMs?: number;
  readonly instanceNamePrefix?: string;
}

/**
 * Buildbarn (docs/protocol/remote-executors.md §7): never persistent. With the default `action`
 * platform key extractor the queue is keyed on the action's whole platform, so an action that
 * carries `persistentWorkerKey` matches no runner registered with `platform: {}`: it waits
 * `platformQueueWithNoWorkersTimeout` and then fails FAILED_PRECONDITION with the scheduler's
 * message. With the `static` extractor the client's platform is ignored and it runs one-shot.
 */
export class BuildbarnExecutor extends PlainExecutor {
  override readonly profile = "buildbarn" as const;

  constructor(private readonly bbOptions: BuildbarnOptions = {}) {
    super(bbOptions);
  }

  override async execute(action: RemoteAction): Promise<ActionResult> {
    const extractor = this.bbOptions.platformKeyExtractor ?? "action";
    if (extractor === "action" && !samePlatform(action.platform, this.bbOptions.workerPlatform ?? [])) {
      // The scheduler answers UNAVAILABLE during the grace window (clients retry), then gives up.
      await new Promise((r) => setTimeout(r, this.bbOptions.platformQueueWithNoWorkersTimeoutMs ?? 900_000));
      return notRun(
        "FAILED_PRECONDITION",
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
