/**
 * Crash-loop back-off per container, as the kubelet does it: the first restart after a crash is
 * immediate, then each further restart waits twice as long as the one before, starting at `baseMs`
 * (10 s) up to `maxMs` (300 s). A container that ran for `resetAfterMs` (10 min) before it exited
 * starts over. Worked numbers: crashes at once, again and again → restarts after 0, 10, 20, 40, 80,
 * 160, 300, 300 ... seconds.
 */
import type { Clock } from "../../controlplane/util/clock.js";

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

interface Entry {
  /** Delay the next restart must wait after `lastRestart`. */
  delayMs: number;
  lastRestart: number;
}

export class CrashBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly settings: BackoffSettings = DEFAULT_BACKOFF,
  ) {}

  /** Records that the container under `key` exited after running `ranForMs`. */
  exited(key: string, ranForMs: number): void {
    if (ranForMs >= this.settings.resetAfterMs) this.entries.delete(key);
  }

  /** Milliseconds until `key` may restart; 0 when it may now. */
  remaining(key: string): number {
    const e = this.entries.get(key);
    if (e === undefined) return 0;
    return Math.max(0, e.lastRestart + e.delayMs - this.clock.now());
  }

  /** The delay the current back-off imposes (for the waiting message), 0 before the first restart. */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Records a restart now; the one after it waits the doubled delay. */
  restarted(key: string): void {
    const e = this.entries.get(key);
    const delayMs = e === undefined ? this.settings.baseMs : Math.min(e.delayMs * 2, this.settings.maxMs);
    this.entries.set(key, { delayMs, lastRestart: this.clock.now() });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
