/**
 * The rules of an object's life that are not validation (the status a new object starts with is
 * its kind's, foundation/kinds): when a write counts as a spec change (bumping metadata.generation), and how a delete request
 * turns into finalizers, a deletion timestamp and a grace period. Pure functions of their inputs.
 */

import { foregroundFinalizer, namespaceFinalizer, orphanFinalizer } from "../../foundation/api/finalizers.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { ObjectMeta } from "../../proto/gen/api.js";

const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/** `generateName` plus five random characters from Kubernetes' vowel-free alphabet. */
export function generatedName(prefix: string, random: () => number): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += nameAlphabet[Math.floor(random() * nameAlphabet.length)];
  return `${prefix}${suffix}`;
}

/** True when anything outside metadata and status differs: that is a new generation. */
export function specChanged(old: KubeObject, next: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest }: KubeObject) => rest;
  return JSON.stringify(strip(old)) !== JSON.stringify(strip(next));
}

export type PropagationPolicy = "Orphan" | "Background" | "Foreground";

export interface DeleteRequest {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
}

export type DeletionPlan =
  /** Remove the object from the store now. */
  | { kind: "remove" }
  /** Keep it with these deletion fields until finalizers are gone or the grace period is cut to 0. */
  | { kind: "mark"; metadata: ObjectMeta; status?: unknown };

/**
 * Decides what deleting `obj` at time `now` means. Pods bound to a node get a grace period (the
 * request's, else spec.terminationGracePeriodSeconds, else 30 s) unless they already finished; an
 * existing grace period can only shorten. Everything else is removed at once unless it carries
 * finalizers after the policy's are added; a Namespace always waits for `kubernetes`.
 */
export function planDeletion(
  info: ResourceInfo,
  obj: KubeObject,
  req: DeleteRequest,
  now: number,
): DeletionPlan {
  const meta = obj.metadata;
  const finalizers = [...(meta.finalizers ?? [])];
  const add = (f: string): void => {
    if (!finalizers.includes(f)) finalizers.push(f);
  };
  if (req.propagationPolicy === "Orphan") add(orphanFinalizer);
  if (req.propagationPolicy === "Foreground") add(foregroundFinalizer);
  if (info.kind === "Namespace" && !meta.deletionTimestamp) add(namespaceFinalizer);

  let grace = gracePeriodFor(info, obj, req);
  if (meta.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, meta.deletionGracePeriodSeconds);
  if (grace === 0 && finalizers.length === 0) return { kind: "remove" };

  const deadline = now + grace * 1000;
  const current = meta.deletionTimestamp ? Date.parse(meta.deletionTimestamp) : Number.POSITIVE_INFINITY;
  const metadata: ObjectMeta = {
    ...meta,
    finalizers,
    deletionTimestamp: rfc3339(Math.min(current, deadline)),
    deletionGracePeriodSeconds: grace,
  };
  if (info.kind === "Namespace") return { kind: "mark", metadata, status: { phase: "Terminating" } };
  return { kind: "mark", metadata };
}

function gracePeriodFor(info: ResourceInfo, obj: KubeObject, req: DeleteRequest): number {
  if (info.kind !== "Pod") return 0;
  const pod = obj as {
    spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
    status?: { phase?: string };
  };
  if (!pod.spec?.nodeName) return 0;
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return 0;
  return Math.max(0, req.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
}

/**
 * True when an update left a deleted object with nothing to wait for: no finalizers and a grace
 * period of zero. The registry then removes it, which is how the last finalizer's removal deletes.
 */
export function readyToRemove(obj: KubeObject): boolean {
  const meta = obj.metadata;
  return (
    meta.deletionTimestamp !== undefined &&
    (meta.finalizers ?? []).length === 0 &&
    (meta.deletionGracePeriodSeconds ?? 0) === 0
  );
}
