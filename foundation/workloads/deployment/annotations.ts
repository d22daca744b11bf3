/**
 * The annotations a Deployment and its ReplicaSets carry, with the Kubernetes names kubectl and
 * users know, plus kctl's own:
 * - `deployment.kubernetes.io/revision` on both: the rollout number, bumped when a ReplicaSet
 *   becomes the new one again (a rollback); the Deployment's always equals its new ReplicaSet's.
 * - `deployment.kubernetes.io/revision-history` on a ReplicaSet: revisions it held before.
 * - `deployment.kubernetes.io/desired-replicas` / `max-replicas` on a ReplicaSet: the Deployment's
 *   replicas and replicas+maxSurge when it last sized this set, for proportional scaling.
 * - `kctl.io/auto-rollback: "true"` on a Deployment: opt in to rolling back on a missed progress deadline.
 * - `kctl.io/rollout-complete` on a ReplicaSet: when a rollout to it completed; marks rollback targets.
 * Other Deployment annotations are copied to its new ReplicaSet (as Kubernetes does, so
 * `kubernetes.io/change-cause` shows in the rollout history) except those listed in `notCopied`.
 */
import type { Deployment, ReplicaSet } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../api/readonly.js";

export const revisionAnnotation = "deployment.kubernetes.io/revision";
export const revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
export const desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
export const maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
export const autoRollbackAnnotation = "kctl.io/auto-rollback";
export const rolloutCompleteAnnotation = "kctl.io/rollout-complete";
export const changeCauseAnnotation = "kubernetes.io/change-cause";
export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

/** Deployment annotations that describe the Deployment itself, never copied to or from a ReplicaSet. */
export const notCopied: ReadonlySet<string> = new Set([
  lastAppliedAnnotation,
  revisionAnnotation,
  revisionHistoryAnnotation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  autoRollbackAnnotation,
  rolloutCompleteAnnotation,
  "deprecated.deployment.rollback.to",
]);

/** The revision number of a ReplicaSet or Deployment; 0 when absent or unreadable. */
export function revisionOf(obj: DeepReadonly<{ metadata: ReplicaSet["metadata"] }>): number {
  const n = Number(obj.metadata.annotations?.[revisionAnnotation]);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function intAnnotation(rs: DeepReadonly<ReplicaSet>, name: string): number | undefined {
  const raw = rs.metadata.annotations?.[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

export const desiredReplicasOf = (rs: DeepReadonly<ReplicaSet>) =>
  intAnnotation(rs, desiredReplicasAnnotation);
export const maxReplicasOf = (rs: DeepReadonly<ReplicaSet>) => intAnnotation(rs, maxReplicasAnnotation);

/** Sets desired/max-replicas on `rs` (mutable); returns whether anything changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  const changed =
    a[desiredReplicasAnnotation] !== String(desired) || a[maxReplicasAnnotation] !== String(max);
  a[desiredReplicasAnnotation] = String(desired);
  a[maxReplicasAnnotation] = String(max);
  return changed;
}

/**
 * Brings the annotations of `rs` (mutable), the Deployment's new ReplicaSet, up to date: copies
 * the Deployment's annotations, raises its revision to `newRevision` (remembering the old one in
 * the history) and, for a set being created, records desired/max replicas. Returns whether anything
 * changed. Kubernetes' SetNewReplicaSetAnnotations.
 */
export function setNewReplicaSetAnnotations(
  d: DeepReadonly<Deployment>,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
  maxSurge: number,
): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (notCopied.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const old = revisionOf(rs);
  if (old < newRevision) {
    a[revisionAnnotation] = String(newRevision);
    changed = true;
    if (old > 0) {
      const history = a[revisionHistoryAnnotation];
      a[revisionHistoryAnnotation] = history ? `${history},${old}` : String(old);
    }
  }
  if (!exists) {
    const replicas = d.spec?.replicas ?? 1;
    if (setReplicasAnnotations(rs, replicas, replicas + maxSurge)) changed = true;
  }
  return changed;
}
