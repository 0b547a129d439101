import type { AbortSwitch } from "./job.js";

/**
 * One job's abort switch, built so that a job nobody aborts costs next to nothing. In Node 20 the
 * first read of `AbortController.signal` makes an EventTarget (~4 µs) and every listener on it costs
 * more; a no-op request paid that several times (bench/README.md). Here the state and the
 * listeners are plain fields, and the real AbortSignal is made only when someone reads `signal`:
 * a tool that watches `ctx.signal`, a host that forwards aborts to a tool process.
 */
export class JobAbort implements AbortSwitch {
  private controller: AbortController | undefined;
  private isAborted = false;
  private abortReason: unknown = undefined;
  private listeners: ((reason: unknown) => void)[] | undefined;

  /**
   * A switch over an existing controller (a front door's own): its signal is the one handed out,
   * and aborting either side is seen by both.
   */
  static over(controller: AbortController): JobAbort {
    const abort = new JobAbort();
    abort.adopt(controller);
    return abort;
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  /** The job's AbortSignal, made on first read (already aborted when the switch is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      if (this.isAborted) controller.abort(this.abortReason);
      this.adopt(controller);
    }
    return this.controller!.signal;
  }

  /** Aborts once; later calls do nothing. Listeners run synchronously, in the order they were added. */
  abort(reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    if (this.isAborted) return;
    if (this.controller) this.controller.abort(reason); // its listener below records it
    else this.fire(reason);
  }

  /**
   * Calls `listener` once, when the switch aborts. Not called for a switch already aborted: check
   * `aborted` first. Returns a function that removes it.
   */
  onAbort(listener: (reason: unknown) => void): () => void {
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  private adopt(controller: AbortController): void {
    this.controller = controller;
    const signal = controller.signal;
    if (signal.aborted) this.fire(signal.reason);
    else signal.addEventListener("abort", () => this.fire(signal.reason), { once: true });
  }

  private fire(reason: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.abortReason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }
}
