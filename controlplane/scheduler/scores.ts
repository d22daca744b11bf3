/**
 * Scores for feasible nodes, each normalized to 0..100 and weighted:
 * - least allocated (weight 1): the mean free share of cpu and memory after placing the pod, using
 *   Kubernetes' non-zero request defaults (100m, 200Mi) for containers that request nothing;
 * - controller spread (weight 2): fewer pods of the same controller (ownerReference with
 *   `controller: true`) on the node scores higher: 100 * (max - count) / max over the candidates;
 * - PreferNoSchedule taints (weight 3): fewer untolerated ones scores higher, same normalization.
 */

import { toleratedByAny } from "../../foundation/api/tolerations.js";
import type { SchedulerCache } from "./cache.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";

export interface NodeScorer {
  /**
   * Writes the raw score of `nodes[i]` to `out[i]` for i < count. Each node's `scoreSlot` is its
   * index here, so a scorer may also fill only the nodes it knows about (after zeroing).
   */
  scoreAll(nodes: readonly NodeInfo[], count: number, out: Float64Array): void;
  /** Rewrites raw scores [0, count) in place to 0..100; absent when raw scores already are. */
  normalize?(scores: Float64Array, count: number): void;
}

export interface Score {
  readonly name: string;
  readonly weight: number;
  /** The scorer for this pod, or undefined when the score would be equal on every node. */
  prepare(pod: PodInfo, cache: SchedulerCache): NodeScorer | undefined;
}

export const leastAllocatedScore: Score = {
  name: "NodeResourcesLeastAllocated",
  weight: 1,
  prepare(pod) {
    const { milliCpu, memory } = pod.nonZeroRequests;
    return {
      scoreAll(nodes, count, out) {
        for (let i = 0; i < count; i++) {
          const node = nodes[i]!;
          out[i] =
            (freeShare(node.allocMilliCpu, node.nonZeroMilliCpu + milliCpu) +
              freeShare(node.allocMemory, node.nonZeroMemory + memory)) /
            2;
        }
      },
    };
  },
};

/** allocatable 4000m, requested 1000m → 75; over-committed or nothing allocatable → 0. */
function freeShare(allocatable: number, requested: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return ((allocatable - requested) * 100) / allocatable;
}

export const controllerSpreadScore: Score = {
  name: "ControllerSpread",
  weight: 2,
  prepare(pod, cache) {
    const placement = pod.controllerUid ? cache.nodesOfController(pod.controllerUid) : undefined;
    // No pod of this controller is placed yet: every node would score the same.
    if (!placement) return undefined;
    return {
      // Visits only the nodes running this controller's pods, not every candidate.
      scoreAll(_nodes, count, out) {
        out.fill(0, 0, count);
        for (const [node, n] of placement) if (node.scoreSlot >= 0) out[node.scoreSlot] = n;
      },
      normalize: fewerIsBetter,
    };
  },
};

export const preferNoScheduleScore: Score = {
  name: "TaintToleration",
  weight: 3,
  prepare(pod) {
    const tolerations = pod.tolerations.filter((t) => !t.effect || t.effect === "PreferNoSchedule");
    return {
      scoreAll(nodes, count, out) {
        for (let i = 0; i < count; i++) {
          let n = 0;
          for (const taint of nodes[i]!.preferNoScheduleTaints) if (!toleratedByAny(tolerations, taint)) n++;
          out[i] = n;
        }
      },
      normalize: fewerIsBetter,
    };
  },
};

/** Counts [0, 1, 2] → max 2 → [100, 50, 0]; all zero → all 100. */
export function fewerIsBetter(scores: Float64Array, count: number): void {
  let max = 0;
  for (let i = 0; i < count; i++) if (scores[i]! > max) max = scores[i]!;
  for (let i = 0; i < count; i++) scores[i] = max === 0 ? 100 : (100 * (max - scores[i]!)) / max;
}

export const defaultScores: readonly Score[] = [
  leastAllocatedScore,
  controllerSpreadScore,
  preferNoScheduleScore,
];
