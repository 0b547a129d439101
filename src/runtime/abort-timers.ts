import type { ToolHost } from "../core/job.js";

/*
 * Three timers cooperate when a job is aborted (client cancel, timeout, shutdown). Each one backs
 * up the one before it, so each must be longer than the one before it:
 *
 * 1. The tool's grace (`--abort-grace-ms`, the host's own bound). The job's signal fires; the tool
 *    should stop. A process host waits this long, counted from when the tool could see the abort
 *    (a process still loading its tool gets STARTUP_ALLOWANCE_MS more), then kills the tool
 *    process and answers the job itself ("did not stop within N ms ... was killed"). An inline
 *    host cannot kill anything; it just waits for the tool. The host states its bound as
 *    `ToolHost.abortAllowanceMs`.
 *
 * 2. The dispatcher's backstop (`DispatcherOptions.abortGraceMs`). If the host has still not
 *    settled the job, the dispatcher answers without it ("the tool did not stop ... answering
 *    without it"), so a host that ignores aborts cannot hang the protocol. It is the host's
 *    allowance plus BACKSTOP_MARGIN_MS: the margin covers killing the process and noticing its
 *    exit (the process host waits up to 200 ms for the stderr pipe to close), so the host's answer,
 *    which names the killed process, normally wins.
 *
 * 3. The front door's shutdown bound (`--shutdown-grace-ms`, plus the Buck2 door's own
 *    SHUTDOWN_BACKSTOP_MS). On shutdown running jobs are aborted (Bazel at once, Buck2 after the
 *    grace) and the door exits when they are answered or the bound passes, whichever is first;
 *    the host is then closed with the same bound.
 */

/** How much longer than the host's own bound the dispatcher waits before answering without it. */
export const BACKSTOP_MARGIN_MS = 2000;

/** The dispatcher's backstop for `host`: its abort allowance plus the margin (timer 2 above). */
export function dispatcherBackstopMs(host: Pick<ToolHost, "abortAllowanceMs">): number {
  return (host.abortAllowanceMs ?? 0) + BACKSTOP_MARGIN_MS;
}
