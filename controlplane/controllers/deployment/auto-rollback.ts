/**
 * Beyond Kubernetes, a Deployment annotated `kctl.io/auto-rollback: "true"` is rolled back by the
 * controller itself when a rollout misses its progress deadline: to the newest older revision that
 * once completed a rollout (`kctl.io/rollout-complete` on its ReplicaSet), with a Warning event
 * `DeploymentRollback`. A revision that completed before is never rolled away from automatically,
 * so two good revisions cannot bounce between each other.
 */

import {
  autoRollbackAnnotation,
  revisionOf,
  rolloutCompleteAnnotation,
} from "../../../foundation/workloads/deployment/annotations.js";
import { withoutHash } from "../../../foundation/workloads/deployment/hash.js";
import {
  type ReadonlyReplicaSet,
  specReplicas,
} from "../../../foundation/workloads/deployment/replica-sets.js";
import type { Deployment } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { deploymentsResource, type SyncContext } from "./sync.js";

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
