import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Scratch directories named `<prefix><pid>-…` belong to one tool process. A process killed without
 * cleaning up (SIGKILL, out of memory) leaves its directories behind; the next process of the same
 * kind removes those whose owner is gone.
 */
export function sweepDeadProcessDirs(parent: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  for (const name of names) {
    const m = pattern.exec(name);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
