/**
 * Going back to an earlier revision. There is no rollback field: as with modern kubectl, a rollback
 * is a normal spec change. `kctl rollout undo` copies the chosen ReplicaSet's pod template (minus
 * its pod-template-hash label) and annotations into the Deployment with `planRollback` and PUTs it;
 * the controller then finds that ReplicaSet as the new one, raises its revision above all others,
 * and rolls to it with the Deployment's strategy.
 *
 * Beyond Kubernetes, a Deployment annotated `kctl.io/auto-rollback: "true"` is rolled back by the
 * controller itself when a rollout misses its progress deadline: to the newest older revision that
 * once completed a rollout (`kctl.io/rollout-complete` on its ReplicaSet), with a Warning event
 * `DeploymentRollback`. A revision that completed before is never rolled away from automatically,
 * so two good revisions cannot bounce between each other.
 */
import type { Deployment, PodTemplateSpec } from "../../../proto/gen/api.js";
import { controllerRefOf, type DeepReadonly } from "../../client/index.js";
import {
  autoRollbackAnnotation,
  changeCauseAnnotation,
  notCopied,
  revisionOf,
  rolloutCompleteAnnotation,
} from "./annotations.js";
import { equalIgnoreHash, withoutHash } from "./hash.js";
import { type ReadonlyReplicaSet, specReplicas } from "./replica-sets.js";
import { deploymentsResource, type SyncContext } from "./sync.js";

export class RollbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RollbackError";
  }
}

export type RollbackPlan =
  /** PUT `deployment` (its resourceVersion is the one read: a concurrent change gives Conflict). */
  | { kind: "rollback"; deployment: Deployment; revision: number; replicaSet: string }
  | { kind: "skipped"; revision: number; message: string };

export interface RevisionEntry {
  revision: number;
  replicaSet: string;
  changeCause: string | undefined;
  template: DeepReadonly<PodTemplateSpec> | undefined;
}

/** The ReplicaSets `d` controls (what `rollout history` and `undo` look at). */
function ownedBy(d: DeepReadonly<Deployment>, rsList: readonly ReadonlyReplicaSet[]): ReadonlyReplicaSet[] {
  return rsList.filter((rs) => d.metadata.uid && controllerRefOf(rs)?.uid === d.metadata.uid);
}

/** `kctl rollout history`: one entry per revision, oldest first. */
export function rolloutHistory(
  d: DeepReadonly<Deployment>,
  rsList: readonly ReadonlyReplicaSet[],
): RevisionEntry[] {
  return ownedBy(d, rsList)
    .filter((rs) => revisionOf(rs) > 0)
    .sort((a, b) => revisionOf(a) - revisionOf(b))
    .map((rs) => ({
      revision: revisionOf(rs),
      replicaSet: rs.metadata.name ?? "",
      changeCause: rs.metadata.annotations?.[changeCauseAnnotation],
      template: rs.spec?.template,
    }));
}

/**
 * What `kctl rollout undo deployment/<name> [--to-revision N]` writes. `toRevision` 0 means the
 * revision before the current one. Throws RollbackError with a message for the user when the
 * Deployment is paused or the revision does not exist.
 */
export function planRollback(
  d: DeepReadonly<Deployment>,
  rsList: readonly ReadonlyReplicaSet[],
  toRevision = 0,
): RollbackPlan {
  const name = d.metadata.name ?? "";
  if (d.spec?.paused) {
    throw new RollbackError(
      `you cannot rollback a paused deployment; resume it first with 'kctl rollout resume deployment/${name}' and try again`,
    );
  }
  if (!Number.isInteger(toRevision) || toRevision < 0) {
    throw new RollbackError(`--to-revision: must be a non-negative integer, got ${toRevision}`);
  }
  const history = rolloutHistory(d, rsList);
  const current = revisionOf(d);
  let target: RevisionEntry | undefined;
  if (toRevision > 0) {
    target = history.find((h) => h.revision === toRevision);
    if (!target) {
      const known = history.map((h) => h.revision).join(", ") || "none";
      throw new RollbackError(`deployment "${name}" has no revision ${toRevision} (revisions: ${known})`);
    }
  } else {
    target = history.filter((h) => h.revision !== current).at(-1);
    if (!target) throw new RollbackError(`deployment "${name}" has no previous revision to roll back to`);
  }
  if (equalIgnoreHash(target.template, d.spec?.template)) {
    return {
      kind: "skipped",
      revision: target.revision,
      message: `skipped rollback (current template already matches revision ${target.revision})`,
    };
  }
  const rs = ownedBy(d, rsList).find((r) => r.metadata.name === target.replicaSet)!;
  const next = structuredClone(d) as Deployment;
  next.spec = { ...next.spec, template: withoutHash(rs.spec?.template) };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (notCopied.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(rs.metadata.annotations ?? {}))
    if (!notCopied.has(k)) annotations[k] = v;
  next.metadata.annotations = annotations;
  return { kind: "rollback", deployment: next, revision: target.revision, replicaSet: target.replicaSet };
}

export const autoRollbackEnabled = (d: DeepReadonly<Deployment>): boolean =>
  d.metadata.annotations?.[autoRollbackAnnotation] === "true";

export const completedOnce = (rs: ReadonlyReplicaSet | undefined): boolean =>
  Boolean(rs?.metadata.annotations?.[rolloutCompleteAnnotation]);

/**
 * Rolls `d` (our copy; it takes the written spec and metadata) back to the newest older revision
 * that completed a rollout, after `newRS` missed the progress deadline. Records a Warning event
 * either way: what it rolled back to, or why it could not.
 */
export async function autoRollback(
  ctx: SyncContext,
  d: Deployment,
  allRSs: readonly (ReadonlyReplicaSet | undefined)[],
  newRS: ReadonlyReplicaSet | undefined,
): Promise<void> {
  const failing = newRS
    ? `revision ${revisionOf(newRS)} (replica set ${newRS.metadata.name})`
    : "the rollout";
  const deadline = d.spec?.progressDeadlineSeconds ?? 0;
  if (completedOnce(newRS)) {
    ctx.recorder.event(
      d,
      "Warning",
      "AutoRollbackSkipped",
      `${failing} missed its progress deadline of ${deadline}s but completed a rollout before; not rolling back`,
    );
    return;
  }
  const target = allRSs
    .filter((rs): rs is ReadonlyReplicaSet => rs !== undefined && rs.metadata.uid !== newRS?.metadata.uid)
    .filter(completedOnce)
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  if (!target) {
    ctx.recorder.event(
      d,
      "Warning",
      "AutoRollbackSkipped",
      `${failing} missed its progress deadline of ${deadline}s and no earlier revision ever completed a rollout`,
    );
    return;
  }
  const next = structuredClone(d);
  next.spec = { ...next.spec, template: withoutHash(target.spec?.template) };
  const written = await ctx.client.update(deploymentsResource, next);
  d.metadata = written.metadata;
  d.spec = written.spec!;
  ctx.recorder.event(
    d,
    "Warning",
    "DeploymentRollback",
    `Rolled back deployment "${d.metadata.name}" to revision ${revisionOf(target)} (replica set ${target.metadata.name}, ${specReplicas(target)} replicas) because ${failing} missed its progress deadline of ${deadline}s`,
  );
}
