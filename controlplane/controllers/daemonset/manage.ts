/**
 * Which nodes need a daemon pod and which pods must go (upstream's manage and
 * podsShouldBeOnNode), decided from the cache alone:
 *   - a node that should run a pod and has none gets one;
 *   - a failed pod is deleted (and replaced by the next sync), at most once per backoff period per
 *     node, with a FailedDaemonPod event;
 *   - without surge, extra running pods on a node go, the oldest stays; with surge, an old and a
 *     new pod may share a node until the new one is available (or the old one is not Ready);
 *   - pods on nodes they may no longer run on, or on nodes that are gone, are deleted.
 */
import type { DaemonSet, Node, Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodAvailable, isPodReady } from "../../client/pod-state.js";
import { allowsSurge } from "./counts.js";
import { isPodUpdated } from "./daemon-pod.js";
import type { Placement } from "./eligibility.js";
import type { FailedPodBackoff } from "./failed-pod-backoff.js";

type ReadonlyPod = DeepReadonly<Pod>;

export interface ManageInput {
  ds: DeepReadonly<DaemonSet>;
  nodes: readonly DeepReadonly<Node>[];
  placement: (node: DeepReadonly<Node>) => Placement;
  /** The DaemonSet's pods by target node, oldest first (node-pods.ts). */
  byNode: ReadonlyMap<string, readonly ReadonlyPod[]>;
  hash: string;
  now: number;
  /** Consulted and advanced for each failed pod this plan deletes. */
  backoff: FailedPodBackoff;
}

export interface ManagePlan {
  createOn: string[];
  deletePods: ReadonlyPod[];
  /** The failed pods among `deletePods`, each with its node, for the FailedDaemonPod event. */
  failed: { pod: ReadonlyPod; node: string }[];
  /** Milliseconds until a node held back by the failed-pod backoff may act; undefined when none is. */
  retryAfterMs: number | undefined;
}

export function planManage(input: ManageInput): ManagePlan {
  const { ds, byNode, hash, now, backoff } = input;
  const plan: ManagePlan = { createOn: [], deletePods: [], failed: [], retryAfterMs: undefined };
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const surge = allowsSurge(ds);
  const known = new Set<string>();
  for (const node of input.nodes) {
    const name = node.metadata.name ?? "";
    known.add(name);
    const { shouldRun, shouldContinueRunning } = input.placement(node);
    const pods = byNode.get(name) ?? [];
    if (shouldRun && pods.length === 0) {
      plan.createOn.push(name);
      continue;
    }
    if (!shouldContinueRunning) {
      plan.deletePods.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
      continue;
    }
    const running: ReadonlyPod[] = [];
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = pod.status?.phase;
      if (phase !== "Failed" && phase !== "Succeeded") {
        running.push(pod);
        continue;
      }
      const key = `${ds.metadata.uid ?? ""}/${name}`;
      const wait = backoff.remaining(key);
      if (wait > 0) {
        plan.retryAfterMs = Math.min(plan.retryAfterMs ?? wait, wait);
        continue;
      }
      backoff.next(key);
      plan.deletePods.push(pod);
      if (phase === "Failed") plan.failed.push({ pod, node: name });
    }
    if (running.length <= 1) continue;
    if (!surge) {
      plan.deletePods.push(...running.slice(1));
      continue;
    }
    // Surge: keep the oldest new pod and the oldest old pod; the old one goes once the new one is
    // available, or at once if it is not Ready anyway.
    let oldestNew: ReadonlyPod | undefined;
    let oldestOld: ReadonlyPod | undefined;
    for (const pod of running) {
      if (isPodUpdated(pod, hash) && !oldestNew) oldestNew = pod;
      else if (!isPodUpdated(pod, hash) && !oldestOld) oldestOld = pod;
      else plan.deletePods.push(pod);
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReady, now))) {
      plan.deletePods.push(oldestOld);
    }
  }
  for (const [node, pods] of byNode) {
    if (!known.has(node)) plan.deletePods.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
  }
  return plan;
}
