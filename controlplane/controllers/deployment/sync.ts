/**
 * Scaling and status, the parts every strategy shares (Kubernetes' sync.go): finding or creating
 * the new ReplicaSet and keeping revisions in step, sizing ReplicaSets (proportionally when the
 * Deployment is resized mid-rollout), computing the Deployment's status, pausing, and deleting old
 * ReplicaSets beyond revisionHistoryLimit.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { canonicalJson } from "../../../foundation/api/object-hash.js";
import { newControllerRef } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import {
  desiredReplicasOf,
  maxReplicasOf,
  revisionAnnotation,
  revisionOf,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from "../../../foundation/workloads/deployment/annotations.js";
import {
  getCondition,
  newCondition,
  reasons,
  setCondition,
} from "../../../foundation/workloads/deployment/conditions.js";
import {
  computeHash,
  equalIgnoreHash,
  podTemplateHashLabel,
} from "../../../foundation/workloads/deployment/hash.js";
import {
  activeOrLatest,
  activeReplicaSets,
  actualPods,
  availablePods,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  desiredReplicas,
  findNewReplicaSet,
  isSaturated,
  maxRevision,
  oldReplicaSets,
  type ReadonlyReplicaSet,
  readyPods,
  specReplicas,
  wantedPods,
} from "../../../foundation/workloads/deployment/replica-sets.js";
import type { Deployment, DeploymentStatus, ReplicaSet } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import type { KeyQueue } from "../replicaset/controller.js";
import { replicaSetsResource } from "../replicaset/index.js";
import { isRollingUpdate, maxSurge, maxUnavailable } from "./fenceposts.js";

export const deploymentsResource = resourceForKind("apps/v1", "Deployment")!;

/** What one sync of one Deployment works with. */
export interface SyncContext {
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
  key: string;
}

/** A Deployment's ReplicaSets split into the new one (if it exists yet) and the rest. */
export interface ReplicaSets {
  newRS: ReadonlyReplicaSet | undefined;
  oldRSs: ReadonlyReplicaSet[];
}

/** True when `spec.progressDeadlineSeconds` is set (absent or 2^31-1 mean "no deadline", as in Kubernetes). */
export function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec?.progressDeadlineSeconds;
  return s !== undefined && s !== 2147483647;
}

/** Writes `d.status`; `d` (our private copy) takes the new resourceVersion. */
export async function writeStatus(ctx: SyncContext, d: Deployment): Promise<void> {
  const written = await ctx.client.updateStatus(deploymentsResource, d);
  d.metadata = written.metadata;
}

/** Sets the Deployment's revision annotation (a metadata write, kept apart from status). */
async function setDeploymentRevision(ctx: SyncContext, d: Deployment, revision: number): Promise<void> {
  if (revisionOf(d) === revision) return;
  const { namespace = "", name = "" } = d.metadata;
  const written = await ctx.client.patch<Deployment>(deploymentsResource, namespace, name, {
    metadata: { annotations: { [revisionAnnotation]: String(revision) } },
  });
  d.metadata = written.metadata;
}

/**
 * Finds the new ReplicaSet (if it exists yet), brings its revision, annotations and minReadySeconds
 * up to date, and the Deployment's revision with it. Call once per sync: later steps pass the
 * result on, so no step writes from a copy another step already replaced.
 */
export async function replicaSetsAndSyncRevision(
  ctx: SyncContext,
  d: Deployment,
  rsList: readonly ReadonlyReplicaSet[],
): Promise<ReplicaSets> {
  const existing = findNewReplicaSet(d, rsList);
  const oldRSs = oldReplicaSets(rsList, existing);
  if (!existing) return { newRS: undefined, oldRSs };
  const newRevision = maxRevision(oldRSs) + 1;
  const copy = structuredClone(existing) as ReplicaSet;
  const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true, maxSurge(d));
  const minReady = d.spec?.minReadySeconds ?? 0;
  const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== minReady;
  let rs: ReadonlyReplicaSet = existing;
  if (annotationsChanged || minReadyChanged) {
    copy.spec = { ...copy.spec, minReadySeconds: minReady };
    rs = await ctx.client.update(replicaSetsResource, copy);
  }
  await setDeploymentRevision(ctx, d, revisionOf(rs));
  if (hasProgressDeadline(d) && !getCondition(d.status, "Progressing")) {
    d.status ??= {};
    const msg = `Found new replica set "${rs.metadata.name}"`;
    setCondition(
      d.status,
      newCondition("Progressing", "True", reasons.foundNewReplicaSet, msg, ctx.clock.now()),
    );
    await writeStatus(ctx, d);
  }
  return { newRS: rs, oldRSs };
}

/**
 * Creates the ReplicaSet for the Deployment's current template, `<deployment>-<hash>`, as large as
 * the strategy allows right away, with the next revision. A name taken by a foreign object bumps
 * `status.collisionCount` (so the next hash differs) and fails this sync.
 */
export async function createNewReplicaSet(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: readonly ReadonlyReplicaSet[],
): Promise<ReadonlyReplicaSet> {
  const now = ctx.clock.now();
  const newRevision = maxRevision(oldRSs) + 1;
  const hash = computeHash(d.spec?.template, d.status?.collisionCount);
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [podTemplateHashLabel]: hash },
  };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...selector.matchLabels, [podTemplateHashLabel]: hash };
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace ?? "",
      labels: { ...template.metadata.labels },
      ownerReferences: [newControllerRef(d)],
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  rs.spec!.replicas = newReplicaSetReplicas(d, [...oldRSs, rs], rs);
  setNewReplicaSetAnnotations(d, rs, newRevision, false, maxSurge(d));
  let created: ReadonlyReplicaSet;
  let alreadyExisted = false;
  try {
    created = await ctx.client.create(replicaSetsResource, rs.metadata.namespace ?? "", rs);
  } catch (err) {
    if (isApiError(err, "AlreadyExists")) {
      const found = await ctx.client.get<ReplicaSet>(
        replicaSetsResource,
        rs.metadata.namespace ?? "",
        rs.metadata.name!,
      );
      const ours = found.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid);
      if (!ours || !equalIgnoreHash(found.spec?.template, d.spec?.template)) {
        // Another object holds the name: change the hash and try again on the next sync.
        d.status ??= {};
        d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
        await writeStatus(ctx, d);
        throw err;
      }
      // Ours already: our informer has not shown it yet.
      created = found;
      alreadyExisted = true;
    } else {
      if (hasProgressDeadline(d)) {
        d.status ??= {};
        const msg = `Failed to create new replica set "${rs.metadata.name}": ${(err as Error).message}`;
        setCondition(d.status, newCondition("Progressing", "False", reasons.replicaSetCreateError, msg, now));
        await writeStatus(ctx, d);
      }
      throw err;
    }
  }
  if (!alreadyExisted && specReplicas(created) > 0) {
    ctx.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled up replica set ${created.metadata.name} from 0 to ${specReplicas(created)}`,
    );
  }
  await setDeploymentRevision(ctx, d, newRevision);
  if (!alreadyExisted && hasProgressDeadline(d)) {
    d.status ??= {};
    const msg = `Created new replica set "${created.metadata.name}"`;
    setCondition(d.status, newCondition("Progressing", "True", reasons.newReplicaSetCreated, msg, now));
    await writeStatus(ctx, d);
  }
  return created;
}

/**
 * How big the new ReplicaSet may be now. RollingUpdate: grow by what the surge allows, never past
 * spec.replicas. replicas=4, maxSurge=1, sets want 4 old + 0 new → may add 1 (total 5 = 4+1).
 * Recreate: all at once (old pods are gone by then).
 *
 * Unlike Kubernetes, which sums only spec.replicas, a set counts with its observed pods when it
 * still has more than it wants: an old set just scaled 4→3 still runs 4 pods until its controller
 * deletes one, and growing the new set into that gap would briefly exceed replicas+maxSurge.
 */
export function newReplicaSetReplicas(
  d: Deployment,
  allRSs: readonly ReadonlyReplicaSet[],
  newRS: ReadonlyReplicaSet,
): number {
  const want = desiredReplicas(d);
  if (!isRollingUpdate(d)) return want;
  const current = allRSs.reduce((n, rs) => n + Math.max(specReplicas(rs), rs.status?.replicas ?? 0), 0);
  const maxTotal = want + maxSurge(d);
  if (current >= maxTotal) return specReplicas(newRS);
  const scaleUp = Math.min(maxTotal - current, want - specReplicas(newRS));
  return specReplicas(newRS) + scaleUp;
}

/**
 * Sets `rs` to `replicas` pods and refreshes its desired/max-replicas annotations; records a
 * ScalingReplicaSet event when the size changed. Returns the stored set (or `rs` when unchanged).
 */
export async function scaleReplicaSet(
  ctx: SyncContext,
  d: Deployment,
  rs: ReadonlyReplicaSet,
  replicas: number,
): Promise<{ rs: ReadonlyReplicaSet; scaled: boolean }> {
  const copy = structuredClone(rs) as ReplicaSet;
  const sizeChanged = specReplicas(rs) !== replicas;
  const want = desiredReplicas(d);
  const annotationsChanged = setReplicasAnnotations(copy, want, want + maxSurge(d));
  if (!sizeChanged && !annotationsChanged) return { rs, scaled: false };
  copy.spec = { ...copy.spec, replicas };
  const written = await ctx.client.update(replicaSetsResource, copy);
  if (sizeChanged) {
    const direction = replicas > specReplicas(rs) ? "up" : "down";
    ctx.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${direction} replica set ${rs.metadata.name} from ${specReplicas(rs)} to ${replicas}`,
    );
  }
  return { rs: written, scaled: sizeChanged };
}

/** Like `scaleReplicaSet`, but does nothing (not even annotations) when the size is already right. */
export async function scaleIfNeeded(
  ctx: SyncContext,
  d: Deployment,
  rs: ReadonlyReplicaSet,
  replicas: number,
): Promise<{ rs: ReadonlyReplicaSet; scaled: boolean }> {
  if (specReplicas(rs) === replicas) return { rs, scaled: false };
  return scaleReplicaSet(ctx, d, rs, replicas);
}

/**
 * Sizes the ReplicaSets for the Deployment's replicas when it is not rolling: one active set takes
 * every replica; a saturated new set means the old ones go to 0; otherwise (resized mid-rollout)
 * the difference is spread over the active sets in proportion to their size.
 */
async function scale(ctx: SyncContext, d: Deployment, sets: ReplicaSets): Promise<ReplicaSets> {
  const want = desiredReplicas(d);
  const replace = (updated: ReadonlyReplicaSet): void => {
    if (sets.newRS?.metadata.uid === updated.metadata.uid) sets.newRS = updated;
    sets.oldRSs = sets.oldRSs.map((rs) => (rs.metadata.uid === updated.metadata.uid ? updated : rs));
  };
  const single = activeOrLatest(sets.newRS, sets.oldRSs);
  if (single) {
    if (specReplicas(single) !== want) replace((await scaleReplicaSet(ctx, d, single, want)).rs);
    return sets;
  }
  if (isSaturated(d, sets.newRS)) {
    for (const old of activeReplicaSets(sets.oldRSs)) replace((await scaleReplicaSet(ctx, d, old, 0)).rs);
    return sets;
  }
  if (!isRollingUpdate(d)) return sets;
  const all = activeReplicaSets([...sets.oldRSs, sets.newRS]);
  const allowed = want > 0 ? want + maxSurge(d) : 0;
  const toAdd = allowed - wantedPods(all);
  if (toAdd > 0) all.sort(bySizeNewer);
  else if (toAdd < 0) all.sort(bySizeOlder);
  // Worked example: replicas 10→15 mid-rollout, maxSurge 3; old wants 8, new 5 (13 = 10+3).
  // allowed = 18, toAdd = 5; max-replicas annotations say 13. old: 8*18/13 = 11.08 → 11 (+3);
  // new: 5*18/13 = 6.92 → 7 (+2); 3+2 = 5, nothing left over.
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of all) {
    const share = toAdd === 0 ? 0 : proportion(rs, d, toAdd, added);
    sizes.set(rs.metadata.uid ?? "", specReplicas(rs) + share);
    added += share;
  }
  for (const [i, rs] of all.entries()) {
    let size = sizes.get(rs.metadata.uid ?? "") ?? 0;
    // Rounding leftovers go to the largest set.
    if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
    replace((await scaleReplicaSet(ctx, d, rs, size)).rs);
  }
  return sets;
}

/** The share of `toAdd` (negative: to remove) that `rs` takes, capped by what is still unassigned. */
function proportion(rs: ReadonlyReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === added) return 0;
  const allowed = toAdd - added;
  const fraction = replicaSetFraction(rs, d);
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReadonlyReplicaSet, d: Deployment): number {
  const want = desiredReplicas(d);
  if (want === 0) return -specReplicas(rs);
  const total = want + maxSurge(d);
  const annotated = maxReplicasOf(rs) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return Math.round((specReplicas(rs) * total) / annotated) - specReplicas(rs);
}

/** True when some active set was sized for another replica count: the user resized the Deployment. */
export function isScalingEvent(d: Deployment, sets: ReplicaSets): boolean {
  return activeReplicaSets([...sets.oldRSs, sets.newRS]).some((rs) => {
    const desired = desiredReplicasOf(rs);
    return desired !== undefined && desired !== desiredReplicas(d);
  });
}

/** Scales without rolling (paused, or resized), cleans history when paused, and writes status. */
export async function syncScaleOnly(ctx: SyncContext, d: Deployment, sets: ReplicaSets): Promise<void> {
  const scaled = await scale(ctx, d, { newRS: sets.newRS, oldRSs: [...sets.oldRSs] });
  if (d.spec?.paused) await cleanupOldReplicaSets(ctx, d, scaled.oldRSs);
  await syncStatus(ctx, d, [...scaled.oldRSs, scaled.newRS], scaled.newRS);
}

/** Only brings status up to date (a Deployment being deleted). */
export async function syncStatusOnly(ctx: SyncContext, d: Deployment, sets: ReplicaSets): Promise<void> {
  await syncStatus(ctx, d, [...sets.oldRSs, sets.newRS], sets.newRS);
}

/** The counters and Available condition the Deployment should report for these sets. */
export function calculateStatus(
  d: Deployment,
  allRSs: readonly (ReadonlyReplicaSet | undefined)[],
  newRS: ReadonlyReplicaSet | undefined,
  now: number,
): DeploymentStatus {
  const available = availablePods(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualPods(allRSs),
    updatedReplicas: actualPods([newRS]),
    readyReplicas: readyPods(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, wantedPods(allRSs) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = structuredClone(d.status.conditions);
  // replicas=4, maxUnavailable=25% → 1: Available while at least 3 pods are available.
  if (available >= desiredReplicas(d) - maxUnavailable(d)) {
    const msg = "Deployment has minimum availability.";
    setCondition(status, newCondition("Available", "True", reasons.minimumReplicasAvailable, msg, now));
  } else {
    const msg = "Deployment does not have minimum availability.";
    setCondition(status, newCondition("Available", "False", reasons.minimumReplicasUnavailable, msg, now));
  }
  return status;
}

export function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

async function syncStatus(
  ctx: SyncContext,
  d: Deployment,
  allRSs: readonly (ReadonlyReplicaSet | undefined)[],
  newRS: ReadonlyReplicaSet | undefined,
): Promise<void> {
  const status = calculateStatus(d, allRSs, newRS, ctx.clock.now());
  if (sameStatus(d.status, status)) return;
  d.status = status;
  await writeStatus(ctx, d);
}

/**
 * Deletes the oldest old ReplicaSets beyond `revisionHistoryLimit`, lowest revision first, but
 * only those fully scaled down and observed so (a set still draining pods is history in the making).
 */
export async function cleanupOldReplicaSets(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: readonly ReadonlyReplicaSet[],
): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit;
  if (limit === undefined) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
  const excess = cleanable.length - limit;
  for (const rs of cleanable.slice(0, Math.max(0, excess))) {
    const drained =
      (rs.status?.replicas ?? 0) === 0 &&
      specReplicas(rs) === 0 &&
      (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0);
    if (!drained) continue;
    try {
      await ctx.client.delete(replicaSetsResource, rs.metadata.namespace ?? "", rs.metadata.name ?? "", {
        ...(rs.metadata.uid ? { uid: rs.metadata.uid } : {}),
      });
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }
}

/**
 * Records pausing and resuming in the Progressing condition (status Unknown), so a deadline
 * counts from the resume, not from before the pause. A missed deadline is never overwritten.
 */
export async function checkPausedConditions(ctx: SyncContext, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status, "Progressing");
  if (cond?.reason === reasons.progressDeadlineExceeded) return;
  const pausedRecorded = cond?.reason === reasons.paused;
  const now = ctx.clock.now();
  d.status ??= {};
  if (d.spec?.paused && !pausedRecorded) {
    setCondition(
      d.status,
      newCondition("Progressing", "Unknown", reasons.paused, "Deployment is paused", now),
    );
  } else if (!d.spec?.paused && pausedRecorded) {
    setCondition(
      d.status,
      newCondition("Progressing", "Unknown", reasons.resumed, "Deployment is resumed", now),
    );
  } else {
    return;
  }
  await writeStatus(ctx, d);
}
