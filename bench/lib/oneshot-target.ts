import { spawn } from "node:child_process";
import { treeRssBytes } from "./process-rss.js";
import { lastLine, type Target, type Variant } from "./target.js";

/** A fresh process per request, as a build without workers runs a tool. */
class OneShotTarget implements Target {
  readonly pid = undefined;
  private peak = 0;

  constructor(
    private readonly command: string,
    private readonly args: string[],
  ) {}

  request(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.command, this.args, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (s: string) => (stderr = (stderr + s).slice(-2000)));
      // Short-lived processes: sample often enough to see them at their largest.
      const sampler = setInterval(() => {
        if (child.pid !== undefined) this.peak = Math.max(this.peak, treeRssBytes(child.pid) || 0);
      }, 10);
      const watchdog = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.once("error", (err) => {
        clearInterval(sampler);
        clearTimeout(watchdog);
        reject(err);
      });
      child.once("exit", (code, signal) => {
        clearInterval(sampler);
        clearTimeout(watchdog);
        if (code === 0) resolve();
        else reject(new Error(`exited ${signal ?? code}: ${lastLine(stderr)}`));
      });
    });
  }

  peakRssBytes(): number {
    return this.peak === 0 ? Number.NaN : this.peak;
  }

  async close(): Promise<void> {}
}

export function oneShot(label: string, command: string, args: string[]): Variant {
  return {
    label,
    async start() {
      const target = new OneShotTarget(command, args);
      await target.request();
      return target;
    },
  };
}
