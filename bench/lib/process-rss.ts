import { readdirSync, readFileSync } from "node:fs";

/** A process and all its descendants, from /proc (Linux only; elsewhere RSS reads as NaN). */
export function processTree(rootPid: number): number[] {
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (children !== "") for (const c of children.split(/\s+/)) stack.push(Number(c));
      } catch {
        // the thread or process went away between the two reads
      }
    }
  }
  return out;
}

/** Reads one `Vm*:` line of /proc/<pid>/status in kB, or undefined once the process is gone. */
function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Current resident set of one process (not its children), in bytes. */
export function processRssBytes(pid: number): number {
  const kb = statusKb(pid, "VmRSS");
  return kb === undefined ? Number.NaN : kb * 1024;
}

/** Current resident set of a process tree, in bytes. */
export function treeRssBytes(rootPid: number): number {
  let kb = 0;
  let seen = false;
  for (const pid of processTree(rootPid)) {
    const v = statusKb(pid, "VmRSS");
    if (v !== undefined) {
      kb += v;
      seen = true;
    }
  }
  return seen ? kb * 1024 : Number.NaN;
}

/**
 * Tracks the peak RSS of process trees by sampling. A sample can miss a short spike, so the
 * kernel's own high-water mark of each root process (VmHWM) is folded in as a lower bound.
 */
export class RssSampler {
  private readonly peaks = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 50) {}

  watch(rootPid: number): void {
    if (!this.peaks.has(rootPid)) this.peaks.set(rootPid, 0);
    this.sample(rootPid);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const pid of this.peaks.keys()) this.sample(pid);
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Peak bytes seen for the tree rooted at `rootPid`, and stops watching it. */
  finish(rootPid: number): number {
    this.sample(rootPid);
    const peak = this.peaks.get(rootPid) ?? Number.NaN;
    this.peaks.delete(rootPid);
    if (this.peaks.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    return peak === 0 ? Number.NaN : peak;
  }

  private sample(rootPid: number): void {
    const now = treeRssBytes(rootPid);
    const hwm = (statusKb(rootPid, "VmHWM") ?? 0) * 1024;
    const best = Math.max(this.peaks.get(rootPid) ?? 0, Number.isNaN(now) ? 0 : now, hwm);
    this.peaks.set(rootPid, best);
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node supports

/**
 * CPU time (user + system) consumed so far by a process tree, in ms. Unlike wall-clock latency it
 * barely moves when other jobs load the machine, so it is the steadier overhead measure here.
 */
export function treeCpuMs(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited between listing and reading
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
