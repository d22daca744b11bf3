/**
 * Questions about a Deployment's ReplicaSets, as pure functions (Kubernetes' deployment/util):
 * which is the new one (same template, ignoring the hash label), which are old, their summed
 * counts, orderings, and whether a rollout is saturated or complete.
 */

import { parseTime } from "../../../foundation/util/time.js";
import type { Deployment, DeploymentStatus, ReplicaSet } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../api/readonly.js";
import { desiredReplicasOf, revisionOf } from "./annotations.js";
import { equalIgnoreHash } from "./hash.js";

export type ReadonlyReplicaSet = DeepReadonly<ReplicaSet>;
export type ReadonlyDeployment = DeepReadonly<Deployment>;

export const specReplicas = (rs: ReadonlyReplicaSet | undefined): number => rs?.spec?.replicas ?? 0;
export const desiredReplicas = (d: ReadonlyDeployment): number => d.spec?.replicas ?? 1;

const created = (rs: ReadonlyReplicaSet): number => parseTime(rs.metadata.creationTimestamp) ?? 0;

/** Oldest first; equal times by name, so the order is total. */
export function byCreation(a: ReadonlyReplicaSet, b: ReadonlyReplicaSet): number {
  return created(a) - created(b) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Lowest revision first, then oldest: the order old ReplicaSets are cleaned up in. */
export function byRevision(a: ReadonlyReplicaSet, b: ReadonlyReplicaSet): number {
  return revisionOf(a) - revisionOf(b) || byCreation(a, b);
}

/** Larger first; among equals newer first (where a scale-up goes first). */
export function bySizeNewer(a: ReadonlyReplicaSet, b: ReadonlyReplicaSet): number {
  return specReplicas(b) - specReplicas(a) || byCreation(b, a);
}

/** Larger first; among equals older first (where a scale-down goes first). */
export function bySizeOlder(a: ReadonlyReplicaSet, b: ReadonlyReplicaSet): number {
  return specReplicas(b) - specReplicas(a) || byCreation(a, b);
}

/** The oldest ReplicaSet whose template equals the Deployment's: the target of the rollout. */
export function findNewReplicaSet(
  d: ReadonlyDeployment,
  rsList: readonly ReadonlyReplicaSet[],
): ReadonlyReplicaSet | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Every ReplicaSet except `newRS`. */
export function oldReplicaSets(
  rsList: readonly ReadonlyReplicaSet[],
  newRS: ReadonlyReplicaSet | undefined,
): ReadonlyReplicaSet[] {
  return rsList.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
}

/** Sets that should have pods (spec.replicas > 0). */
export const activeReplicaSets = (list: readonly (ReadonlyReplicaSet | undefined)[]): ReadonlyReplicaSet[] =>
  list.filter((rs): rs is ReadonlyReplicaSet => rs !== undefined && specReplicas(rs) > 0);

const sum = (
  list: readonly (ReadonlyReplicaSet | undefined)[],
  f: (rs: ReadonlyReplicaSet) => number,
): number => list.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);

/** Pods the sets want (spec.replicas). */
export const wantedPods = (list: readonly (ReadonlyReplicaSet | undefined)[]) => sum(list, specReplicas);
/** Pods the sets have (status.replicas). */
export const actualPods = (list: readonly (ReadonlyReplicaSet | undefined)[]) =>
  sum(list, (rs) => rs.status?.replicas ?? 0);
export const readyPods = (list: readonly (ReadonlyReplicaSet | undefined)[]) =>
  sum(list, (rs) => rs.status?.readyReplicas ?? 0);
export const availablePods = (list: readonly (ReadonlyReplicaSet | undefined)[]) =>
  sum(list, (rs) => rs.status?.availableReplicas ?? 0);

/** The highest revision among `list`; 0 for none. */
export function maxRevision(list: readonly ReadonlyReplicaSet[]): number {
  return list.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
}

/**
 * The one set that should hold every pod when no rollout is under way: the only active set, or
 * (none active) the new set, or the newest old one. Undefined when several sets are active.
 */
export function activeOrLatest(
  newRS: ReadonlyReplicaSet | undefined,
  oldRSs: readonly ReadonlyReplicaSet[],
): ReadonlyReplicaSet | undefined {
  const sorted = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([newRS, ...sorted]);
  if (active.length === 0) return newRS ?? sorted[0];
  return active.length === 1 ? active[0] : undefined;
}

/** The new set has every replica, all available, sized for the current spec. */
export function isSaturated(d: ReadonlyDeployment, rs: ReadonlyReplicaSet | undefined): boolean {
  if (!rs) return false;
  const want = desiredReplicas(d);
  return (
    desiredReplicasOf(rs) === want &&
    specReplicas(rs) === want &&
    (rs.status?.availableReplicas ?? 0) === want
  );
}

/** Every pod updated and available, no old pods left, and the spec's generation observed. */
export function deploymentComplete(d: ReadonlyDeployment, status: DeepReadonly<DeploymentStatus>): boolean {
  const want = desiredReplicas(d);
  return (
    (status.updatedReplicas ?? 0) === want &&
    (status.replicas ?? 0) === want &&
    (status.availableReplicas ?? 0) === want &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}
