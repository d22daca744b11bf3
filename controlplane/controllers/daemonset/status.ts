/**
 * A DaemonSet's status from its nodes and pods (upstream's updateDaemonSetStatus): of the nodes
 * that should run a pod, how many do (current), how many run a Ready, available and up-to-date one
 * (judged by the oldest pod there), how many nodes that should not run one do (misscheduled).
 * observedGeneration moves only when the sync acted on this generation.
 */
import type { DaemonSet, DaemonSetStatus, Node, Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodAvailable, isPodReady } from "../../client/pod-state.js";
import { isPodUpdated } from "./daemon-pod.js";
import type { Placement } from "./eligibility.js";

type ReadonlyPod = DeepReadonly<Pod>;

export function calculateStatus(
  ds: DeepReadonly<DaemonSet>,
  nodes: readonly DeepReadonly<Node>[],
  placement: (node: DeepReadonly<Node>) => Placement,
  byNode: ReadonlyMap<string, readonly ReadonlyPod[]>,
  hash: string,
  now: number,
  observed: boolean,
  collisionCount: number,
): DaemonSetStatus {
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  for (const node of nodes) {
    const pods = byNode.get(node.metadata.name ?? "") ?? [];
    if (!placement(node).shouldRun) {
      if (pods.length > 0) misscheduled++;
      continue;
    }
    desired++;
    const pod = pods[0];
    if (!pod) continue;
    current++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
    if (isPodUpdated(pod, hash)) updated++;
  }
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: observed ? (ds.metadata.generation ?? 0) : (ds.status?.observedGeneration ?? 0),
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
  if (collisionCount > 0) status.collisionCount = collisionCount;
  if (ds.status?.conditions)
    status.conditions = structuredClone(ds.status.conditions) as NonNullable<DaemonSetStatus["conditions"]>;
  return status;
}

const keys: readonly (keyof DaemonSetStatus)[] = [
  "currentNumberScheduled",
  "numberMisscheduled",
  "desiredNumberScheduled",
  "numberReady",
  "observedGeneration",
  "updatedNumberScheduled",
  "numberAvailable",
  "numberUnavailable",
  "collisionCount",
];

/** True when writing `next` would change nothing a reader sees. */
export function sameStatus(
  current: DeepReadonly<DaemonSetStatus> | undefined,
  next: DaemonSetStatus,
): boolean {
  return keys.every((k) => (current?.[k] ?? 0) === (next[k] ?? 0));
}
