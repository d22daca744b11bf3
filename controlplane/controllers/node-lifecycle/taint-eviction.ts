/**
 * When a pod must leave a node with NoExecute taints (Kubernetes' NoExecuteTaintManager rules).
 * A pod tolerates a taint for the shortest `tolerationSeconds` among its tolerations that match
 * it, for ever when none of them sets one, and not at all when none matches. Like the
 * DefaultTolerationSeconds admission plugin, a pod with no toleration of its own for
 * `node.kubernetes.io/not-ready` or `.../unreachable` (NoExecute) is treated as tolerating it for
 * `defaultTolerationSeconds`. Pure functions of their inputs.
 */

import { tolerates } from "../../../foundation/api/tolerations.js";
import type { Pod, Taint, Toleration } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const notReadyTaintKey = "node.kubernetes.io/not-ready";
export const unreachableTaintKey = "node.kubernetes.io/unreachable";
/** Put on cordoned nodes (`spec.unschedulable`), NoSchedule only. */
export const unschedulableTaintKey = "node.kubernetes.io/unschedulable";

/** Kubernetes' default for the not-ready/unreachable tolerations it adds to every pod. */
export const defaultTolerationSeconds = 300;

/** Milliseconds since the epoch at which the pod must go, or `undefined` when it may stay for ever. */
export type EvictionTime = number | undefined;

/** The pod's tolerations plus the defaulted not-ready/unreachable ones it lacks. */
export function effectiveTolerations(
  pod: DeepReadonly<Pod>,
  defaultSeconds: number,
): readonly DeepReadonly<Toleration>[] {
  const own = pod.spec?.tolerations ?? [];
  const out: DeepReadonly<Toleration>[] = [...own];
  for (const key of [notReadyTaintKey, unreachableTaintKey]) {
    const probe: Taint = { key, effect: "NoExecute" };
    if (own.some((t) => tolerates(t, probe))) continue;
    out.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: defaultSeconds });
  }
  return out;
}

/**
 * When `pod` must be evicted because of `taints` (NoExecute ones; others are ignored). A taint's
 * clock starts at its `timeAdded` (or `fallbackAdded` when it has none).
 * Worked example: unreachable added at 12:00:00 and tolerated for 300 s → evict at 12:05:00; add
 * `dedicated=db:NoExecute` at 12:01:00 that no toleration matches → evict at 12:01:00, i.e. at once.
 */
export function evictionTime(
  pod: DeepReadonly<Pod>,
  taints: readonly DeepReadonly<Taint>[],
  defaultSeconds: number,
  fallbackAdded: number,
): EvictionTime {
  const tolerations = effectiveTolerations(pod, defaultSeconds);
  let earliest: EvictionTime;
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : Number.NaN;
    const start = Number.isNaN(added) ? fallbackAdded : added;
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return start;
    const seconds = matching.flatMap((t) => (t.tolerationSeconds === undefined ? [] : [t.tolerationSeconds]));
    if (seconds.length === 0) continue;
    const at = start + Math.max(0, Math.min(...seconds)) * 1000;
    if (earliest === undefined || at < earliest) earliest = at;
  }
  return earliest;
}
