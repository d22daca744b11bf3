/**
 * A budget's status from its pods (upstream's buildDisruptedPodMap, countHealthyPods and
 * updatePdbStatus): healthy pods are Ready and not being deleted or just evicted; an eviction not
 * followed by the pod's deletion within 2 minutes is forgotten; disruptionsAllowed is what the
 * healthy pods exceed the desired by, never below 0; the DisruptionAllowed condition says whether
 * it is above 0.
 */

import { parseTime, rfc3339 } from "../../../foundation/util/time.js";
import type {
  Pod,
  PodDisruptionBudget,
  PodDisruptionBudgetCondition,
  PodDisruptionBudgetStatus,
} from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodReady } from "../../client/pod-state.js";

type ReadonlyPod = DeepReadonly<Pod>;

/** Upstream's DeletionTimeout: how long an evicted pod may take to start terminating. */
export const deletionTimeoutMs = 2 * 60 * 1000;

export interface DisruptedPods {
  /** The evictions still awaited, by pod name. */
  pods: Record<string, string>;
  /** Pods evicted but never deleted, for the NotDeleted event. */
  expired: string[];
  /** Milliseconds until the next awaited eviction expires; undefined when none is awaited. */
  recheckInMs: number | undefined;
}

export function disruptedPods(
  pdb: DeepReadonly<PodDisruptionBudget>,
  pods: readonly ReadonlyPod[],
  now: number,
): DisruptedPods {
  const out: DisruptedPods = { pods: {}, expired: [], recheckInMs: undefined };
  const recorded = pdb.status?.disruptedPods ?? {};
  for (const pod of pods) {
    const name = pod.metadata.name ?? "";
    if (pod.metadata.deletionTimestamp || recorded[name] === undefined) continue;
    const expires = (parseTime(recorded[name]) ?? 0) + deletionTimeoutMs;
    if (expires <= now) {
      out.expired.push(name);
      continue;
    }
    out.pods[name] = recorded[name];
    out.recheckInMs = Math.min(out.recheckInMs ?? expires - now, expires - now);
  }
  return out;
}

export function countHealthy(
  pods: readonly ReadonlyPod[],
  disrupted: Readonly<Record<string, string>>,
): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || disrupted[pod.metadata.name ?? ""] !== undefined) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

/** The DisruptionAllowed condition, its transition time kept while its status stays. */
export function disruptionAllowedCondition(
  pdb: DeepReadonly<PodDisruptionBudget>,
  status: "True" | "False",
  reason: string,
  message: string,
  now: number,
): PodDisruptionBudgetCondition {
  const old = pdb.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
  return {
    type: "DisruptionAllowed",
    status,
    observedGeneration: pdb.metadata.generation ?? 0,
    lastTransitionTime:
      old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
    reason,
    message,
  };
}

export function budgetStatus(
  pdb: DeepReadonly<PodDisruptionBudget>,
  counts: { currentHealthy: number; desiredHealthy: number; expected: number },
  disrupted: Readonly<Record<string, string>>,
  now: number,
): PodDisruptionBudgetStatus {
  const allowed = counts.expected <= 0 ? 0 : Math.max(0, counts.currentHealthy - counts.desiredHealthy);
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: pdb.metadata.generation ?? 0,
    disruptionsAllowed: allowed,
    currentHealthy: counts.currentHealthy,
    desiredHealthy: counts.desiredHealthy,
    expectedPods: counts.expected,
    conditions: [
      allowed > 0
        ? disruptionAllowedCondition(pdb, "True", "SufficientPods", "", now)
        : disruptionAllowedCondition(pdb, "False", "InsufficientPods", "", now),
    ],
  };
  if (Object.keys(disrupted).length > 0) status.disruptedPods = { ...disrupted };
  return status;
}

/** True when writing `next` would change nothing a reader sees. */
export function sameStatus(
  current: DeepReadonly<PodDisruptionBudgetStatus> | undefined,
  next: PodDisruptionBudgetStatus,
): boolean {
  return JSON.stringify(current ?? {}) === JSON.stringify(next);
}
