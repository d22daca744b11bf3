/**
 * A DaemonSet's pods grouped by the node they are for, each group oldest first (bound before
 * unbound, then by creation time and name: upstream's podByCreationTimestampAndPhase), so "the pod
 * on this node" always means the same one.
 */

import { parseTime } from "../../../foundation/util/time.js";
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { targetNodeName } from "./daemon-pod.js";

type ReadonlyPod = DeepReadonly<Pod>;

export function oldestFirst(a: ReadonlyPod, b: ReadonlyPod): number {
  const boundA = Boolean(a.spec?.nodeName);
  const boundB = Boolean(b.spec?.nodeName);
  if (boundA !== boundB) return boundA ? -1 : 1;
  const byTime =
    (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0);
  if (byTime !== 0) return byTime;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/**
 * `pods` by target node, oldest first. Pods both terminating and finished are left out (they hold
 * nothing on the node any more); pods for no node at all are dropped.
 */
export function podsByNode(pods: readonly ReadonlyPod[]): Map<string, ReadonlyPod[]> {
  const out = new Map<string, ReadonlyPod[]>();
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp && (phase === "Failed" || phase === "Succeeded")) continue;
    const node = targetNodeName(pod);
    if (node === undefined) continue;
    const list = out.get(node) ?? [];
    list.push(pod);
    out.set(node, list);
  }
  for (const list of out.values()) list.sort(oldestFirst);
  return out;
}
