/**
 * One job that keeps some kernel state in line with what the agent was told (the proxy's nftables
 * table, the host routes): run again whenever asked, never twice at once. Requests made while a
 * timer is pending coalesce into that run; a failed run is retried after a delay; a periodic run
 * repairs drift that nothing announced. What the job does, and how it reports failures, is its own.
 */

export interface CoalescingRunnerOptions {
  /** Delay before running again after a failure. */
  retryDelayMs: number;
  /** Period of the repairing run; 0 disables it. */
  resyncIntervalMs: number;
  /** Called before each periodic run is scheduled (e.g. to make it a full one). */
  onResync?: () => void;
}

export class CoalescingRunner<T> {
  private started = false;
  private stopped = false;
  private running: Promise<T> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly job: () => Promise<T>,
    private readonly opts: CoalescingRunnerOptions,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Lets `schedule()` take effect and starts the periodic run. */
  start(): void {
    this.started = true;
    if (this.opts.resyncIntervalMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.opts.onResync?.();
        this.schedule(0);
      }, this.opts.resyncIntervalMs);
      this.resyncTimer.unref();
    }
  }

  /** Runs after `delayMs` unless a run is already scheduled; nothing before start or after stop. */
  schedule(delayMs: number): void {
    if (!this.started || this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runNow().catch(() => undefined);
    }, delayMs);
  }

  /**
   * Runs once now, after any run in flight, and returns its result. A failure is rethrown and a
   * retry scheduled, replacing a sooner pending run so that a failing job backs off.
   */
  async runNow(): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const run = this.job();
    this.running = run;
    try {
      return await run;
    } catch (err) {
      if (!this.stopped) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.schedule(this.opts.retryDelayMs);
      }
      throw err;
    } finally {
      this.running = undefined;
    }
  }

  /** Stops scheduling and waits for a run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
    await this.running?.catch(() => undefined);
  }
}
