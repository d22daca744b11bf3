/**
 * Backoff between replacing failed daemon pods on one node (upstream's failedPodsBackoff: 1 s,
 * doubling to 15 min): a pod that fails at once on a node must not turn into a create/delete storm.
 * An entry idle for twice the maximum starts over. Time comes from the injected clock.
 */
import type { Clock } from "../../../foundation/util/clock.js";

export const initialBackoffMs = 1000;
export const maxBackoffMs = 15 * 60 * 1000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class FailedPodBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  /** Milliseconds left before `key` may act again; 0 when it may act now. */
  remaining(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lastUpdate + e.backoffMs - this.clock.now());
  }

  /** Records an action for `key` now and lengthens its next wait. */
  next(key: string): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (!e || now - e.lastUpdate > 2 * maxBackoffMs) {
      this.entries.set(key, { backoffMs: initialBackoffMs, lastUpdate: now });
      return;
    }
    this.entries.set(key, { backoffMs: Math.min(e.backoffMs * 2, maxBackoffMs), lastUpdate: now });
  }
}
