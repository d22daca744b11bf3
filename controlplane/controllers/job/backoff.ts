/**
 * The delay before a Job replaces a failed pod (upstream's pod failure backoff): 10 s after the
 * first failure since the last success, doubling with each further one, at most 10 minutes.
 * Read from the pods themselves, so it survives a controller restart:
 *   failures after the last success = 1 → 10 s, 2 → 20 s, 3 → 40 s, ..., 7 → 640 s → capped 600 s.
 */
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { finishedAt, isSucceeded } from "./pod-outcome.js";

export const initialBackoffMs = 10_000;
export const maxBackoffMs = 10 * 60_000;

/**
 * Milliseconds left before a new pod may start, 0 when none: counts the failures among `pods`
 * (those `isFailure` accepts) that ended after the latest success, from the latest of them.
 */
export function remainingBackoffMs(
  pods: readonly DeepReadonly<Pod>[],
  isFailure: (pod: DeepReadonly<Pod>) => boolean,
  now: number,
): number {
  let lastSuccess = Number.NEGATIVE_INFINITY;
  for (const p of pods) if (isSucceeded(p)) lastSuccess = Math.max(lastSuccess, finishedAt(p));
  let failures = 0;
  let lastFailure = Number.NEGATIVE_INFINITY;
  for (const p of pods) {
    if (!isFailure(p)) continue;
    const at = finishedAt(p);
    if (at < lastSuccess) continue;
    failures++;
    lastFailure = Math.max(lastFailure, at);
  }
  if (failures === 0) return 0;
  const delay = Math.min(initialBackoffMs * 2 ** (failures - 1), maxBackoffMs);
  return Math.max(0, lastFailure + delay - now);
}
