import { mkdtempSync, rmSync } from "node:fs";
import { realpathSync } from "node:fs";
import { FakeBuck2, type FakeBuck2Options } from "./harness/index.js";

/** A fresh project root under /tmp (short, so socket paths stay far below 108 bytes). */
export function makeProjectRoot(): string {
  return realpathSync(mkdtempSync("/tmp/wb-proj-"));
}

/** Tracks harnesses so afterEach can SIGKILL whatever a failed test left running. */
export class HarnessPool {
  private readonly harnesses: FakeBuck2[] = [];
  private readonly dirs: string[] = [];

  /** A fresh project root removed by cleanup(), for tests that start a worker without a harness. */
  projectRoot(): string {
    const root = makeProjectRoot();
    this.dirs.push(root);
    return root;
  }

  create(options: Partial<FakeBuck2Options> = {}): FakeBuck2 {
    const projectRoot = options.projectRoot ?? makeProjectRoot();
    if (!options.projectRoot) this.dirs.push(projectRoot);
    const harness = new FakeBuck2({ ...options, projectRoot });
    this.dirs.push(harness.workerRoot);
    this.harnesses.push(harness);
    return harness;
  }

  /** Watchdog: kill every worker by pid, then remove the temporary directories. */
  cleanup(): void {
    for (const h of this.harnesses.splice(0)) h.killAll();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
