/**
 * A StatefulSet pod's identity: its name `<set>-<ordinal>`, hostname and subdomain (the set's
 * headless Service, so it resolves as `<set>-<ordinal>.<service>`), its identity labels, and its
 * claims `<template>-<set>-<ordinal>` stamped from volumeClaimTemplates. Pure functions.
 */

import { newControllerRef } from "../../../foundation/api/owner-references.js";
import type {
  ObjectMeta,
  OwnerReference,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  PodTemplateSpec,
  StatefulSet,
  Volume,
} from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const podNameLabel = "statefulset.kubernetes.io/pod-name";
export const podIndexLabel = "apps.kubernetes.io/pod-index";
export const revisionLabel = "controller-revision-hash";

type Set = DeepReadonly<StatefulSet>;

export const podName = (set: Set, ordinal: number): string => `${set.metadata.name}-${ordinal}`;

/** The ordinal in `name` when it is one of `set`'s pod names, else undefined. */
export function ordinalOf(set: Set, name: string | undefined): number | undefined {
  const prefix = `${set.metadata.name}-`;
  if (!name?.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

export const claimName = (templateName: string, set: Set, ordinal: number): string =>
  `${templateName}-${podName(set, ordinal)}`;

/** The first ordinal and one past the last one the set wants: [start, start + replicas). */
export function ordinalRange(set: Set): [number, number] {
  const start = set.spec?.ordinals?.start ?? 0;
  return [start, start + (set.spec?.replicas ?? 1)];
}

/** The pod of `ordinal` from `template` (the revision it belongs to, `revision`). */
export function newPod(
  set: Set,
  ordinal: number,
  template: DeepReadonly<PodTemplateSpec>,
  revision: string,
): Pod {
  const name = podName(set, ordinal);
  const metadata: ObjectMeta = {
    name,
    namespace: set.metadata.namespace ?? "",
    labels: {
      ...template.metadata?.labels,
      [podNameLabel]: name,
      [podIndexLabel]: String(ordinal),
      [revisionLabel]: revision,
    },
    ownerReferences: [newControllerRef(set)],
  };
  if (template.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
  const spec = structuredClone(template.spec ?? {}) as PodSpec;
  spec.hostname = name;
  spec.subdomain = set.spec?.serviceName ?? "";
  const claims = (set.spec?.volumeClaimTemplates ?? []).map(
    (t): Volume => ({
      name: t.metadata?.name ?? "",
      persistentVolumeClaim: { claimName: claimName(t.metadata?.name ?? "", set, ordinal) },
    }),
  );
  if (claims.length) {
    // A claim template replaces a template volume of the same name, as upstream does.
    const names = new Set(claims.map((c) => c.name));
    spec.volumes = [...(spec.volumes ?? []).filter((v) => !names.has(v.name ?? "")), ...claims];
  }
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

/** The owner reference a claim carries while retention says the set's deletion deletes it. */
export function setOwnerRef(set: Set): OwnerReference {
  return { ...newControllerRef(set), controller: false, blockOwnerDeletion: true };
}

/** The claims of `ordinal` as the templates make them (labels: template's and the selector's). */
export function newClaims(set: Set, ordinal: number): PersistentVolumeClaim[] {
  const matchLabels = set.spec?.selector?.matchLabels ?? {};
  const deleteWithSet = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const claim = structuredClone(t) as PersistentVolumeClaim;
    claim.apiVersion = "v1";
    claim.kind = "PersistentVolumeClaim";
    claim.metadata = {
      ...claim.metadata,
      name: claimName(t.metadata?.name ?? "", set, ordinal),
      namespace: set.metadata.namespace ?? "",
      labels: { ...t.metadata?.labels, ...matchLabels },
    };
    if (deleteWithSet) claim.metadata.ownerReferences = [setOwnerRef(set)];
    delete claim.status;
    return claim;
  });
}
