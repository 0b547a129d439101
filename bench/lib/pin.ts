// Pins the benchmark client, and every worker it starts from then on, to one CPU (the protocol-overhead group).
//
// A request/response round trip over pipes costs whatever the scheduler makes of the two wake-ups,
// and that depends on where it puts the processes. On the 2-vCPU machines this project is measured
// on, the same plain-Node echo answered in 25.6, 30.8 and 61.5 µs in one run (three copies side by
// side, the same binary): a wake-up on the other vCPU costs tens of µs, one on the same vCPU
// hardly anything. Which of the two a worker gets changes with its own pattern of CPU use, so
// without pinning a ratio against the echo mixes the bridge's cost with the scheduler's choice
// (bench/README.md, "Pinned to one CPU"). On one CPU every variant pays the same for a wake-up and
// the ratio is the work each side does.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export type Pinning = { cpu: number; restore: () => void } | { unavailable: string };

/** The CPUs this process may run on, as the kernel lists them ("0-3,6"). */
function allowedList(): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

function expand(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

function taskset(cpus: string): void {
  // -a: every thread of this process (V8's and libuv's too); children started later inherit it.
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
}

/** Pins to the last CPU this process may use (CPU 0 usually takes the most interrupts). */
export function pinToOneCpu(): Pinning {
  const list = allowedList();
  if (list === undefined) return { unavailable: "no /proc/self/status (not Linux?)" };
  const cpus = expand(list);
  const cpu = cpus[cpus.length - 1];
  if (cpu === undefined) return { unavailable: `cannot read the allowed CPUs (${list})` };
  try {
    taskset(String(cpu));
  } catch (err) {
    return { unavailable: `taskset failed (${(err as Error).message.split("\n")[0]}); install util-linux` };
  }
  return { cpu, restore: () => taskset(list) };
}
