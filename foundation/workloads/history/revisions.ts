/**
 * A workload's history as ControllerRevisions (upstream's controller/history package), shared by the
 * DaemonSet and StatefulSet controllers: each distinct pod template is one revision named
 * `<owner>-<hash>`, labelled `controller-revision-hash: <hash>` (which the owner's pods carry too),
 * controlled by the owner and numbered 1, 2, 3... in the order templates were rolled out. A template
 * that comes back (a rollback) is the same revision renumbered, never a copy.
 *
 * The functions here decide; the caller's client writes. Nothing here reads caches or the clock.
 */
import type { ControllerRevision, PodTemplateSpec } from "../../../proto/gen/api.js";
import type { ApiObject } from "../../api/object.js";
import { canonicalJson, objectHash } from "../../api/object-hash.js";
import { newControllerRef } from "../../api/owner-references.js";
import type { DeepReadonly } from "../../api/readonly.js";

export const controllerRevisionHashLabel = "controller-revision-hash";

type ReadonlyRevision = DeepReadonly<ControllerRevision>;

/**
 * The hash naming a revision of `data` (upstream's HashControllerRevision): FNV-1a over the data,
 * then the collision count (4 bytes, little endian) when there is one, in decimal mapped onto the
 * vowel-free alphabet. Stable across processes: names and pod labels depend on it.
 */
export function revisionHash(data: unknown, collisionCount = 0): string {
  return objectHash(data, collisionCount);
}

/**
 * What a revision of a workload holds (upstream's getPatch): a strategic merge patch that puts the
 * template back whole, so `kubectl rollout undo` can apply a revision's data to its owner as is.
 */
export function templatePatch(template: DeepReadonly<PodTemplateSpec> | undefined): Record<string, unknown> {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: "replace" } } };
}

/** The template inside a revision's data written by `templatePatch`, without the patch directive. */
export function templateOf(rev: ReadonlyRevision): PodTemplateSpec | undefined {
  const spec = rev.data?.spec as { template?: Record<string, unknown> } | undefined;
  if (!spec?.template) return undefined;
  const { $patch: _, ...template } = structuredClone(spec.template);
  return template as PodTemplateSpec;
}

/** The revision name for `owner` and `hash`: the owner's name cut so the whole fits 253 characters. */
export function revisionName(ownerName: string, hash: string): string {
  return `${ownerName.slice(0, 252 - hash.length)}-${hash}`;
}

/**
 * A new revision of `owner` holding `data`, numbered `revision`. Labels are the template's plus the
 * hash label; the owner's annotations ride along (`kubernetes.io/change-cause` is what `rollout
 * history` prints).
 */
export function newRevision(
  owner: DeepReadonly<ApiObject & { metadata: { annotations?: Record<string, string> } }>,
  templateLabels: DeepReadonly<Record<string, string>> | undefined,
  data: Record<string, unknown>,
  revision: number,
  collisionCount = 0,
): ControllerRevision {
  const hash = revisionHash(data, collisionCount);
  const rev: ControllerRevision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: revisionName(owner.metadata.name ?? "", hash),
      namespace: owner.metadata.namespace ?? "",
      labels: { ...templateLabels, [controllerRevisionHashLabel]: hash },
      ownerReferences: [newControllerRef(owner)],
    },
    data,
    revision,
  };
  if (owner.metadata.annotations) rev.metadata.annotations = { ...owner.metadata.annotations };
  return rev;
}

/** The hash of a stored revision: its label, else the suffix of its name. */
export function hashOf(rev: ReadonlyRevision): string {
  const label = rev.metadata.labels?.[controllerRevisionHashLabel];
  if (label) return label;
  const name = rev.metadata.name ?? "";
  return name.slice(name.lastIndexOf("-") + 1);
}

/** Oldest first; equal numbers by name, so the order is the same on every call. */
export function sortByRevision<T extends ReadonlyRevision>(revs: readonly T[]): T[] {
  return [...revs].sort(
    (a, b) =>
      (a.revision ?? 0) - (b.revision ?? 0) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
}

/** The number the next revision gets: one more than the highest so far (1 for the first). */
export function nextRevisionNumber(revs: readonly ReadonlyRevision[]): number {
  let max = 0;
  for (const r of revs) max = Math.max(max, r.revision ?? 0);
  return max + 1;
}

/** The revisions whose data equals `data`, oldest first (more than one only after a race). */
export function matchingRevisions<T extends ReadonlyRevision>(revs: readonly T[], data: unknown): T[] {
  const want = canonicalJson(data);
  return sortByRevision(revs.filter((r) => canonicalJson(r.data) === want));
}

/**
 * The old revisions to delete so at most `limit` remain, oldest first, never one whose hash is in
 * `live` (a hash some pod still carries: its template is still running somewhere).
 */
export function revisionsToTruncate<T extends ReadonlyRevision>(
  old: readonly T[],
  live: ReadonlySet<string>,
  limit: number,
): T[] {
  const deletable = sortByRevision(old.filter((r) => !live.has(hashOf(r))));
  const excess = old.length - Math.max(0, limit);
  return excess > 0 ? deletable.slice(0, excess) : [];
}
