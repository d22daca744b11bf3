/**
 * Which pods a shrinking ReplicaSet deletes first: Kubernetes' ActivePodsWithRanks order, so the
 * pods that serve least go first. Earlier rules win:
 *   1. unscheduled before scheduled;
 *   2. Pending before Unknown before Running;
 *   3. not Ready before Ready;
 *   4. lower `controller.kubernetes.io/pod-deletion-cost` before higher;
 *   5. pods on a node crowded with related pods (same owner's pods) before pods on quieter nodes;
 *   6. Ready for a shorter time before longer;
 *   7. more container restarts before fewer;
 *   8. newer before older.
 */

import { parseTime } from "../../../foundation/util/time.js";
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodReady, readySince } from "../../client/pod-state.js";

type ReadonlyPod = DeepReadonly<Pod>;

export const podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

const phaseOrder: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: ReadonlyPod): number {
  const raw = pod.metadata.annotations?.[podDeletionCostAnnotation];
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(pod: ReadonlyPod): number {
  let max = 0;
  for (const c of pod.status?.containerStatuses ?? []) max = Math.max(max, c.restartCount ?? 0);
  return max;
}

/** Later first; an unknown time counts as the latest of all (Kubernetes' afterOrZero). */
function laterFirst(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}

interface Ranked {
  pod: ReadonlyPod;
  /** Active related pods on the same node (rule 5). */
  crowding: number;
}

function compare(x: Ranked, y: Ranked): number {
  const a = x.pod;
  const b = y.pod;
  const nodeA = a.spec?.nodeName ?? "";
  const nodeB = b.spec?.nodeName ?? "";
  if (nodeA !== nodeB && (nodeA === "" || nodeB === "")) return nodeA === "" ? -1 : 1;
  const phaseA = phaseOrder[a.status?.phase ?? "Pending"] ?? 0;
  const phaseB = phaseOrder[b.status?.phase ?? "Pending"] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  const costDiff = deletionCost(a) - deletionCost(b);
  if (costDiff !== 0) return costDiff;
  if (x.crowding !== y.crowding) return y.crowding - x.crowding;
  if (readyA && readyB) {
    const byReady = laterFirst(readySince(a), readySince(b));
    if (byReady !== 0) return byReady;
  }
  const restartDiff = maxRestarts(b) - maxRestarts(a);
  if (restartDiff !== 0) return restartDiff;
  return laterFirst(parseTime(a.metadata.creationTimestamp), parseTime(b.metadata.creationTimestamp));
}

/**
 * The `count` pods of `pods` to delete first. `related` are the active pods of every ReplicaSet
 * under the same owner (a Deployment's old and new ReplicaSets), used to spread what remains.
 */
export function podsToDelete(
  pods: readonly ReadonlyPod[],
  related: readonly ReadonlyPod[],
  count: number,
): ReadonlyPod[] {
  if (count >= pods.length) return [...pods];
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName ?? "";
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, crowding: perNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
  // Array.prototype.sort is stable, so equal pods keep their cache order: deterministic per input.
  return ranked
    .sort(compare)
    .slice(0, count)
    .map((r) => r.pod);
}
