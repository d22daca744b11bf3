/**
 * Going back to an earlier revision. There is no rollback field: as with modern kubectl, a rollback
 * is a normal spec change. `kctl rollout undo` copies the chosen ReplicaSet's pod template (minus
 * its pod-template-hash label) and annotations into the Deployment with `planRollback` and PUTs it;
 * the controller then finds that ReplicaSet as the new one, raises its revision above all others,
 * and rolls to it with the Deployment's strategy.
 *
 * The controller's own automatic rollback is in controlplane/controllers/deployment/auto-rollback.ts.
 */
import type { Deployment, PodTemplateSpec } from "../../../proto/gen/api.js";
import { controllerRefOf } from "../../api/owner-references.js";
import type { DeepReadonly } from "../../api/readonly.js";
import { changeCauseAnnotation, notCopied, revisionOf } from "./annotations.js";
import { equalIgnoreHash, withoutHash } from "./hash.js";
import type { ReadonlyReplicaSet } from "./replica-sets.js";

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
