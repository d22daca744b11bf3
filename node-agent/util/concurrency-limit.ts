/**
 * At most `max` jobs at once, the rest waiting in arrival order. The agent bounds with it the
 * local steps of pod starts (sandbox, rootfs mount, container start), which are CPU and kernel work
 * on this host: a burst of pods then starts in waves the cores can carry, the first ones Running
 * early, instead of every pod progressing at once and all finishing late.
 */
import { availableParallelism } from "node:os";

export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /** Requires `max` ≥ 1. */
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max: ${max} is not an integer ≥ 1`);
  }

  /** Runs `job` once a slot is free; the slot is given back however it ends. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await job();
    } finally {
      // The slot passes straight to the next waiter, so `active` never drops and rises again.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * The bound for pod starts on a host with `cores` CPUs: two per core, so that one start's wait on
 * a child process (kshim, ip) overlaps another's CPU work. 2 cores → 4 starts at once.
 */
export function podStartLimit(cores = availableParallelism()): ConcurrencyLimit {
  return new ConcurrencyLimit(Math.max(2, 2 * cores));
}
