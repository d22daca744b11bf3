/**
 * What `kctl rollout status statefulset/<name>` prints (kubectl's StatefulSetStatusViewer, same
 * messages) and what `rollout undo`/`history` read: the set's ControllerRevisions, and the set with
 * an older revision's template put back (the controller then renumbers that revision).
 */
import type { ControllerRevision, StatefulSet } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../api/readonly.js";
import type { RolloutState } from "../deployment/rollout-status.js";
import { byRevision, templateOf } from "./revisions.js";

export function statefulSetRolloutStatus(set: DeepReadonly<StatefulSet>): RolloutState {
  const spec = set.spec ?? {};
  const s = set.status ?? {};
  const wait = (message: string): RolloutState => ({ done: false, failed: false, message });
  if (spec.updateStrategy?.type && spec.updateStrategy.type !== "RollingUpdate")
    return {
      done: true,
      failed: true,
      message: "rollout status is only available for RollingUpdate strategy type",
    };
  if (!s.observedGeneration || (set.metadata.generation ?? 0) > s.observedGeneration)
    return wait("Waiting for statefulset spec update to be observed...");
  const replicas = spec.replicas ?? 1;
  if ((s.readyReplicas ?? 0) < replicas)
    return wait(`Waiting for ${replicas - (s.readyReplicas ?? 0)} pods to be ready...`);
  const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    const want = replicas - partition;
    if ((s.updatedReplicas ?? 0) < want)
      return wait(
        `Waiting for partitioned roll out to finish: ${s.updatedReplicas ?? 0} out of ${want} new pods have been updated...`,
      );
    return {
      done: true,
      failed: false,
      message: `partitioned roll out complete: ${s.updatedReplicas ?? 0} new pods have been updated...`,
    };
  }
  if (s.updateRevision !== s.currentRevision)
    return wait(
      `waiting for statefulset rolling update to complete ${s.updatedReplicas ?? 0} pods at revision ${s.updateRevision}...`,
    );
  return {
    done: true,
    failed: false,
    message: `statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision}...`,
  };
}

export class StatefulSetRollbackError extends Error {
  override name = "StatefulSetRollbackError";
}

/**
 * `set` with the template of revision `toRevision` (0: the one before the newest), or undefined
 * when that is already its template. Throws StatefulSetRollbackError when there is no such revision.
 */
export function planStatefulSetRollback(
  set: DeepReadonly<StatefulSet>,
  revisions: readonly DeepReadonly<ControllerRevision>[],
  toRevision: number,
): { set: StatefulSet; revision: number } | undefined {
  const owned = byRevision(
    revisions.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === set.metadata.uid)),
  );
  const target = toRevision === 0 ? owned.at(-2) : owned.find((r) => r.revision === toRevision);
  if (!target) {
    throw new StatefulSetRollbackError(
      toRevision === 0
        ? "no rollout history found"
        : `unable to find specified revision ${toRevision} in history`,
    );
  }
  const template = templateOf(target);
  if (JSON.stringify(template) === JSON.stringify(set.spec?.template)) return undefined;
  const copy = structuredClone(set) as StatefulSet;
  copy.spec = { ...copy.spec, template };
  return { set: copy, revision: target.revision ?? 0 };
}
