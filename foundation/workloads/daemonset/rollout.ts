/**
 * What `rollout status|history|undo daemonset/NAME` read and write, as kubectl's
 * DaemonSetStatusViewer, DaemonSetHistoryViewer and DaemonSetRollbacker do, so kctl and kubectl
 * print the same and agree about revisions. A rollback is a plain template change: the controller
 * then finds the old revision as current and renumbers it.
 */
import type { ControllerRevision, DaemonSet, PodTemplateSpec } from "../../../proto/gen/api.js";
import { canonicalJson } from "../../api/object-hash.js";
import { controllerRefOf } from "../../api/owner-references.js";
import type { DeepReadonly } from "../../api/readonly.js";
import { RollbackError } from "../deployment/rollback.js";
import type { RolloutState } from "../deployment/rollout-status.js";
import { sortByRevision, templateOf, templatePatch } from "../history/index.js";

type ReadonlyDaemonSet = DeepReadonly<DaemonSet>;
type ReadonlyRevision = DeepReadonly<ControllerRevision>;

const changeCauseAnnotation = "kubernetes.io/change-cause";

export function daemonSetRolloutStatus(ds: ReadonlyDaemonSet): RolloutState {
  const name = ds.metadata.name ?? "";
  const s = ds.status ?? {};
  if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") {
    return {
      done: true,
      failed: true,
      message: "rollout status is only available for RollingUpdate strategy type",
    };
  }
  if ((ds.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) {
    return { done: false, failed: false, message: "Waiting for daemon set spec update to be observed..." };
  }
  const desired = s.desiredNumberScheduled ?? 0;
  const wait = (what: string) => ({
    done: false as const,
    failed: false as const,
    message: `Waiting for daemon set "${name}" rollout to finish: ${what}...`,
  });
  if ((s.updatedNumberScheduled ?? 0) < desired)
    return wait(`${s.updatedNumberScheduled ?? 0} out of ${desired} new pods have been updated`);
  if ((s.numberAvailable ?? 0) < desired)
    return wait(`${s.numberAvailable ?? 0} of ${desired} updated pods are available`);
  return { done: true, failed: false, message: `daemon set "${name}" successfully rolled out` };
}

export interface DaemonSetRevisionEntry {
  revision: number;
  /** The ControllerRevision's name. */
  name: string;
  changeCause: string | undefined;
  template: PodTemplateSpec | undefined;
}

/** The revisions `ds` controls, oldest first. */
export function daemonSetHistory(
  ds: ReadonlyDaemonSet,
  revisions: readonly ReadonlyRevision[],
): DaemonSetRevisionEntry[] {
  const uid = ds.metadata.uid;
  return sortByRevision(revisions.filter((r) => uid && controllerRefOf(r)?.uid === uid)).map((r) => ({
    revision: r.revision ?? 0,
    name: r.metadata.name ?? "",
    changeCause: r.metadata.annotations?.[changeCauseAnnotation],
    template: templateOf(r),
  }));
}

export type DaemonSetRollbackPlan =
  /** PUT `daemonSet` (its resourceVersion is the one read: a concurrent change gives Conflict). */
  | { kind: "rollback"; daemonSet: DaemonSet; revision: number }
  | { kind: "skipped"; revision: number; message: string };

/** Going back to revision `toRevision`, or with 0 to the one before the newest (kubectl's findHistory). */
export function planDaemonSetRollback(
  ds: ReadonlyDaemonSet,
  revisions: readonly ReadonlyRevision[],
  toRevision: number,
): DaemonSetRollbackPlan {
  const history = daemonSetHistory(ds, revisions);
  let target: DaemonSetRevisionEntry | undefined;
  if (toRevision === 0) {
    if (history.length <= 1) throw new RollbackError("no last revision to roll back to");
    target = history[history.length - 2];
  } else {
    target = history.find((h) => h.revision === toRevision);
    if (!target) throw new RollbackError(`unable to find specified revision ${toRevision} in history`);
  }
  const revision = target!.revision;
  if (canonicalJson(templatePatch(target!.template)) === canonicalJson(templatePatch(ds.spec?.template))) {
    return {
      kind: "skipped",
      revision,
      message: `skipped rollback (current template already matches revision ${revision})`,
    };
  }
  const next = structuredClone(ds) as DaemonSet;
  const template = target!.template;
  next.spec = { ...next.spec };
  if (template) next.spec.template = structuredClone(template);
  else delete next.spec.template;
  return { kind: "rollback", daemonSet: next, revision };
}
