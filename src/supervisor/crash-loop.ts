/**
 * Detects a crash loop: `limit` crashes within `windowMs`. While tripped the host answers with an
 * error instead of starting yet another process that will die; it re-arms once the oldest crash in
 * the window has aged out, so a transient problem does not need a bridge restart.
 */
export class CrashLoopDetector {
  private readonly times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  record(): void {
    this.times.push(this.now());
    this.prune();
  }

  /** Milliseconds until a new process may be started; 0 when not in a crash loop. */
  blockedForMs(): number {
    this.prune();
    if (this.times.length < this.limit) return 0;
    const oldestRelevant = this.times[this.times.length - this.limit]!;
    return Math.max(0, oldestRelevant + this.windowMs - this.now());
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    while (this.times.length > 0 && this.times[0]! <= cutoff) this.times.shift();
  }
}
