/** Sends on a fixed schedule (start + n·interval), so timer lag does not accumulate into drift. */
export class Schedule {
  startedAt = 0;
  stopped = false;
  private sendTimer: ReturnType<typeof setTimeout> | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private lossTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly intervalMs: number) {}

  start(plan: { due: () => number; count?: number; probeDue: () => void }): void {
    this.startedAt = performance.now();
    const next = () => {
      const due = plan.due();
      if (this.stopped || (plan.count !== undefined && due >= plan.count)) return;
      const delay = Math.max(0, this.startedAt + due * this.intervalMs - performance.now());
      this.sendTimer = setTimeout(() => {
        plan.probeDue();
        next();
      }, delay);
    };
    plan.probeDue();
    next();
  }

  /**
   * Runs `sweep` once at `deadlineMs` (performance.now() time), unless a sweep is already due or
   * `deadlineMs` is undefined. The pinger wakes for a loss only when a probe can still be lost,
   * not on a fixed tick between probes.
   */
  sweepAt(deadlineMs: number | undefined, sweep: () => void): void {
    if (this.lossTimer !== undefined || deadlineMs === undefined || this.stopped) return;
    // +1: a timer may fire up to a millisecond early, and a sweep then would find nothing due.
    this.lossTimer = setTimeout(() => {
      this.lossTimer = undefined;
      sweep();
    }, Math.max(0, Math.ceil(deadlineMs - performance.now()) + 1));
  }

  /** Nothing can be lost any more (every probe answered): no wake-up until the next probe. */
  cancelSweep(): void {
    clearTimeout(this.lossTimer);
    this.lossTimer = undefined;
  }

  /** Runs `then` after `ms`, once. */
  lingerThen(ms: number, then: () => void): void {
    this.lingerTimer ??= setTimeout(then, ms);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.sendTimer);
    this.cancelSweep();
    clearTimeout(this.lingerTimer);
  }
}
