import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { StatusReply } from "../protocol/daemon/messages.js";
import { connectDaemon, exchange } from "./connect.js";
import { fallbackLogPath } from "./daemon-dir.js";
import { readDaemonInfo, type DaemonInfo } from "./daemon-info.js";
import { isAlive, isDaemonAlive } from "./start-lock.js";

/** One daemon found in a daemon directory, and what it answered. */
export interface DaemonListing {
  readonly infoPath: string;
  readonly info: DaemonInfo;
  /** The live answer; undefined when the daemon did not answer. */
  readonly status: StatusReply | undefined;
  readonly alive: boolean;
}

/** Every daemon with an info file in `dir`, asked for its status. */
export async function listDaemons(dir: string): Promise<DaemonListing[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  const listings: DaemonListing[] = [];
  for (const name of names) {
    const infoPath = join(dir, name);
    const info = readDaemonInfo(infoPath);
    if (!info) continue;
    let status: StatusReply | undefined;
    const conn = await connectDaemon(info.socket, 1000);
    if ("socket" in conn) {
      const { messages } = await exchange(conn.socket, { type: "status" }, 3000);
      const reply = messages.find((m) => m.type === "status");
      if (reply && reply.type === "status" && reply.pid === info.pid) status = reply;
    }
    listings.push({ infoPath, info, status, alive: isDaemonAlive(info.pid, info.key) });
  }
  return listings;
}

/** How many times clients fell back to in-process since the log was started. */
export function countFallbacks(dir: string): number {
  try {
    return readFileSync(fallbackLogPath(dir), "utf8").split("\n").filter((l) => l.length > 0).length;
  } catch {
    return 0;
  }
}

/**
 * Stops every daemon in `dir`: asks it over its socket, and SIGTERMs one that does not answer
 * only when /proc shows the pid is still a worker-bridge daemon for that key (a recycled pid must
 * never be killed). Resolves with one line per daemon.
 */
export async function stopDaemons(dir: string, waitMs = 10_000): Promise<string[]> {
  const lines: string[] = [];
  for (const d of await listDaemons(dir)) {
    const pid = d.info.pid;
    if (!d.alive) {
      removeQuietly(d.infoPath);
      lines.push(`pid ${pid}: already gone (removed its stale info file)`);
      continue;
    }
    let asked = false;
    const conn = await connectDaemon(d.info.socket, 1000);
    if ("socket" in conn) {
      const { messages } = await exchange(conn.socket, { type: "stop" }, 3000);
      asked = messages.some((m) => m.type === "stopping" && m.pid === pid);
    }
    if (!asked) {
      if (!provablyOurDaemon(pid, d.info.key)) {
        lines.push(`pid ${pid}: not answering and not recognisably our daemon; left alone`);
        continue;
      }
      process.kill(pid, "SIGTERM");
    }
    const deadline = Date.now() + waitMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    lines.push(isAlive(pid) ? `pid ${pid}: still running after ${waitMs} ms` : `pid ${pid}: stopped`);
  }
  return lines;
}

/** Only /proc can prove who a pid is; without it an unanswering pid is never signalled. */
function provablyOurDaemon(pid: number, key: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes("serve") && cmdline.includes(`--daemon-key=${key}`);
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}
