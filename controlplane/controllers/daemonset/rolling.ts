/**
 * One step of a DaemonSet's rolling update (upstream's rollingUpdate), taken only when nothing else
 * is in flight. Nodes are visited in name order so each step is deterministic.
 *
 * Without surge (maxSurge 0): old pods that are not available are replaced at once; available old
 * pods are deleted while fewer than maxUnavailable nodes are unavailable, and the manage step
 * creates the new pod on each emptied node.
 *   e.g. 5 nodes, maxUnavailable 1, all old and available: delete 1; once its replacement is
 *   available, delete the next.
 *
 * With surge (maxSurge > 0, maxUnavailable 0): a new pod is created beside the old one on up to
 * maxSurge nodes at a time (at once where the old one is not available); the manage step deletes the
 * old pod once the new one is available.
 */
import type { DaemonSet, Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodAvailable } from "../../client/pod-state.js";
import { rolloutBudget } from "./counts.js";
import { isPodUpdated } from "./daemon-pod.js";

type ReadonlyPod = DeepReadonly<Pod>;

export interface RollingPlan {
  deletePods: ReadonlyPod[];
  createOn: string[];
}

/** The new and the old pod on a node, or undefined when there are two of either (manage cleans up). */
function splitNode(
  pods: readonly ReadonlyPod[],
  hash: string,
): { newPod?: ReadonlyPod; oldPod?: ReadonlyPod } | undefined {
  let newPod: ReadonlyPod | undefined;
  let oldPod: ReadonlyPod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash)) {
      if (newPod) return undefined;
      newPod = pod;
    } else {
      if (oldPod) return undefined;
      oldPod = pod;
    }
  }
  return { ...(newPod ? { newPod } : {}), ...(oldPod ? { oldPod } : {}) };
}

/**
 * @param wanted the names of the nodes that should run a pod
 * @param byNode the DaemonSet's pods by target node (node-pods.ts)
 */
export function planRollingUpdate(
  ds: DeepReadonly<DaemonSet>,
  wanted: readonly string[],
  byNode: ReadonlyMap<string, readonly ReadonlyPod[]>,
  hash: string,
  now: number,
): RollingPlan {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: ReadonlyPod) => isPodAvailable(p, minReady, now);
  const { maxUnavailable, maxSurge } = rolloutBudget(ds, wanted.length);
  const nodes = [...new Set([...wanted, ...byNode.keys()])].sort();
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: ReadonlyPod[] = [];
    const candidates: ReadonlyPod[] = [];
    for (const node of nodes) {
      const split = splitNode(byNode.get(node) ?? [], hash);
      if (!split) {
        unavailable++;
        continue;
      }
      const { newPod, oldPod } = split;
      if (newPod && oldPod) unavailable++;
      else if (!newPod && !oldPod) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (oldPod) {
        if (!available(oldPod)) replace.push(oldPod);
        else if (unavailable < maxUnavailable) candidates.push(oldPod);
      }
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { deletePods: [...replace, ...candidates.slice(0, room)], createOn: [] };
  }
  let surging = 0;
  const allowed: string[] = [];
  const candidates: string[] = [];
  const deletePods: ReadonlyPod[] = [];
  for (const node of nodes) {
    const split = splitNode(byNode.get(node) ?? [], hash);
    if (!split) {
      surging++;
      continue;
    }
    const { newPod, oldPod } = split;
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) allowed.push(node);
      else if (surging < maxSurge) candidates.push(node);
      continue;
    }
    if (!available(newPod)) surging++;
    else deletePods.push(oldPod);
  }
  const room = Math.min(Math.max(0, maxSurge - surging), candidates.length);
  return { deletePods, createOn: [...allowed, ...candidates.slice(0, room)] };
}
