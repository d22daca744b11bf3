/**
 * A StatefulSet's history as ControllerRevisions: one per distinct pod template, named
 * `<set>-<hash>`, holding `{spec: {template}}`, numbered in the order they became the update
 * revision. Going back to an older template renumbers its revision rather than copying it, so
 * `rollout history` shows each template once.
 */
import type { ControllerRevision, PodTemplateSpec, StatefulSet } from "../../../proto/gen/api.js";
import { canonical } from "../../api/object-hash.js";
import { newControllerRef } from "../../api/owner-references.js";
import type { DeepReadonly } from "../../api/readonly.js";
import { computeHash } from "../deployment/hash.js";

export const revisionHashLabel = "controller.kubernetes.io/hash";

type Set = DeepReadonly<StatefulSet>;
type Revision = DeepReadonly<ControllerRevision>;

/** What a revision records of the set: its pod template. */
export function revisionData(set: Set): Record<string, unknown> {
  return { spec: { template: structuredClone(set.spec?.template ?? {}) } };
}

export function templateOf(rev: Revision): PodTemplateSpec {
  return structuredClone(
    ((rev.data as { spec?: { template?: PodTemplateSpec } } | undefined)?.spec?.template ??
      {}) as PodTemplateSpec,
  );
}

export const sameData = (rev: Revision, set: Set): boolean =>
  JSON.stringify(canonical(rev.data)) === JSON.stringify(canonical(revisionData(set)));

export function newRevision(set: Set, revision: number): ControllerRevision {
  const hash = computeHash(set.spec?.template, set.status?.collisionCount);
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: `${set.metadata.name}-${hash}`,
      namespace: set.metadata.namespace ?? "",
      labels: { ...set.spec?.template?.metadata?.labels, [revisionHashLabel]: hash },
      ownerReferences: [newControllerRef(set)],
    },
    data: revisionData(set),
    revision,
  };
}

/** Oldest first. */
export const byRevision = (revs: readonly Revision[]): Revision[] =>
  [...revs].sort(
    (a, b) =>
      (a.revision ?? 0) - (b.revision ?? 0) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );

export const nextRevisionNumber = (revs: readonly Revision[]): number =>
  Math.max(0, ...revs.map((r) => r.revision ?? 0)) + 1;
