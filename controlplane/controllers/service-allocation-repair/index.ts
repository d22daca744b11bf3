/**
 * Runs the Service allocator's repair on a period, as kube-apiserver's ClusterIP and NodePort
 * repair controllers do every 3 minutes: a control plane that crashed between claiming a ClusterIP
 * or NodePort and writing its Service leaves a key nobody holds, and only this frees it. One
 * control plane runs it, under the controller manager's lease.
 */
import { type Clock, realClock } from "../../../foundation/util/clock.js";
import { logWarning } from "../../../foundation/util/log.js";

/** What one repair pass changed, as the controller logs it (the registry's ServiceAllocator reports it). */
export interface RepairOutcome {
  released: readonly string[];
  restored: readonly string[];
  duplicates: readonly string[];
}

export interface AllocationRepairDeps {
  repair: () => Promise<RepairOutcome>;
  signal: AbortSignal;
  /** Kubernetes' 3 minutes unless given. */
  intervalMs?: number;
  clock?: Clock;
  onError: (key: string, err: unknown) => void;
}

export const defaultRepairIntervalMs = 3 * 60_000;

/** Repairs at once, then every interval until the signal aborts; `done` resolves after the last pass. */
export function startAllocationRepair(deps: AllocationRepairDeps): { done: Promise<void> } {
  const clock = deps.clock ?? realClock;
  const interval = deps.intervalMs ?? defaultRepairIntervalMs;
  const done = (async () => {
    while (!deps.signal.aborted) {
      try {
        report(await deps.repair());
      } catch (err) {
        deps.onError("service-allocation-repair", err);
      }
      await abortableSleep(clock, interval, deps.signal);
    }
  })();
  return { done };
}

function report(r: RepairOutcome): void {
  if (r.released.length > 0) logWarning("allocation-repair", "released values no Service holds", r.released);
  if (r.restored.length > 0)
    logWarning("allocation-repair", "restored keys of values Services hold", r.restored);
  if (r.duplicates.length > 0) logWarning("allocation-repair", "values held by two Services", r.duplicates);
}

function abortableSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, finish);
    signal.addEventListener("abort", finish, { once: true });
    function finish() {
      timer.cancel();
      signal.removeEventListener("abort", finish);
      resolve();
    }
  });
}
