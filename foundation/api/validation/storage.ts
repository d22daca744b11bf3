/**
 * Validation of storage: PersistentVolume and PersistentVolumeClaim (core/v1) and StorageClass
 * (storage.k8s.io/v1), with upstream's field paths and messages. A claim's spec is fixed once
 * created except for a larger `resources.requests.storage`, the volume it binds to and a class
 * filled into a claim that had none; a class's provisioner, parameters, reclaim policy and binding
 * mode never change.
 */

import { isDeepStrictEqual } from "node:util";
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimSpec,
  StorageClass,
} from "../../../proto/gen/api.js";
import { quantityValue } from "../quantity.js";
import { type Causes, child, key, validateOneOf, validateQuantity } from "./field.js";
import { validateLabelSelectorAt } from "./pod.js";

export const accessModes = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;
export const volumeModes = ["Block", "Filesystem"] as const;
export const reclaimPolicies = ["Delete", "Retain"] as const;
export const bindingModes = ["Immediate", "WaitForFirstConsumer"] as const;

function validateAccessModes(c: Causes, path: string, modes: readonly string[] | undefined): void {
  if (!modes?.length) {
    c.required(path, "at least 1 access mode is required");
    return;
  }
  modes.forEach((m, i) => {
    if (!(accessModes as readonly string[]).includes(m)) c.notSupported(`${path}[${i}]`, m, accessModes);
  });
  if (modes.includes("ReadWriteOncePod") && modes.length > 1)
    c.forbidden(path, "may not use ReadWriteOncePod with other access modes");
}

/** A positive `storage` quantity under `path` (capacity or requests); other resources are refused. */
function validateStorageQuantity(c: Causes, path: string, values: Record<string, string> | undefined): void {
  const storage = values?.storage;
  if (storage === undefined) {
    c.required(key(path, "storage"));
    return;
  }
  for (const name of Object.keys(values ?? {}))
    if (name !== "storage") c.notSupported(key(path, name), name, ["storage"]);
  const before = c.list.length;
  validateQuantity(c, key(path, "storage"), storage);
  if (c.list.length === before && quantityValue(storage) <= 0)
    c.invalid(key(path, "storage"), storage, "must be greater than zero");
}

/** The spec rules a claim and a StatefulSet's volumeClaimTemplates share. */
export function validateClaimSpec(
  c: Causes,
  spec: PersistentVolumeClaimSpec | undefined,
  path: string,
): void {
  const s = spec ?? {};
  validateAccessModes(c, child(path, "accessModes"), s.accessModes);
  if (s.selector) validateLabelSelectorAt(c, child(path, "selector"), s.selector);
  validateStorageQuantity(c, child(child(path, "resources"), "requests"), s.resources?.requests);
  for (const [name, value] of Object.entries(s.resources?.limits ?? {}))
    validateQuantity(c, key(child(child(path, "resources"), "limits"), name), value);
  validateOneOf(c, child(path, "volumeMode"), s.volumeMode, volumeModes, false);
}

export function validatePersistentVolumeClaim(c: Causes, pvc: PersistentVolumeClaim): void {
  validateClaimSpec(c, pvc.spec, "spec");
}

/**
 * A claim's spec may change only where the API lets it: requests.storage may grow (never shrink,
 * the volume cannot give space back), volumeName may be set once (binding), storageClassName may be
 * filled in while unset (the default class).
 */
export function validatePersistentVolumeClaimUpdate(
  c: Causes,
  pvc: PersistentVolumeClaim,
  old: PersistentVolumeClaim,
): void {
  const now = pvc.spec ?? {};
  const was = old.spec ?? {};
  const newSize = now.resources?.requests?.storage;
  const oldSize = was.resources?.requests?.storage;
  if (newSize && oldSize && quantityValue(newSize) < quantityValue(oldSize))
    c.forbidden("spec.resources.requests.storage", "field can not be less than previous value");
  const comparable = (s: PersistentVolumeClaimSpec, other: PersistentVolumeClaimSpec) => ({
    ...s,
    resources: { ...s.resources, requests: { ...s.resources?.requests, storage: undefined } },
    volumeName: s.volumeName || other.volumeName || undefined,
    storageClassName: s.storageClassName ?? other.storageClassName,
  });
  if (!isDeepStrictEqual(comparable(now, was), comparable(was, now)))
    c.forbidden(
      "spec",
      "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
}

export function validatePersistentVolume(c: Causes, pv: PersistentVolume): void {
  const s = pv.spec ?? {};
  validateAccessModes(c, "spec.accessModes", s.accessModes);
  validateStorageQuantity(c, "spec.capacity", s.capacity);
  validateOneOf(
    c,
    "spec.persistentVolumeReclaimPolicy",
    s.persistentVolumeReclaimPolicy,
    reclaimPolicies,
    false,
  );
  validateOneOf(c, "spec.volumeMode", s.volumeMode, volumeModes, false);
  const sources = (["local", "hostPath"] as const).filter((k) => s[k] !== undefined);
  if (sources.length === 0) c.required("spec", "must specify a volume type (local or hostPath)");
  for (const extra of sources.slice(1))
    c.forbidden(child("spec", extra), "may not specify more than 1 volume type");
  const path = s.local?.path ?? s.hostPath?.path;
  const pathField = s.local ? "spec.local.path" : "spec.hostPath.path";
  if (sources.length && !path) c.required(pathField);
  else if (path && !path.startsWith("/")) c.invalid(pathField, path, "must be an absolute path");
  if (s.local && !s.nodeAffinity?.required?.nodeSelectorTerms?.length)
    c.required("spec.nodeAffinity", "Local volume requires node affinity");
}

/** Where a PV's data is and which nodes reach it are fixed once created. */
export function validatePersistentVolumeUpdate(c: Causes, pv: PersistentVolume, old: PersistentVolume): void {
  const source = (p: PersistentVolume) => ({ local: p.spec?.local, hostPath: p.spec?.hostPath });
  if (!isDeepStrictEqual(source(pv), source(old)))
    c.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation");
  if (old.spec?.nodeAffinity && !isDeepStrictEqual(pv.spec?.nodeAffinity, old.spec.nodeAffinity))
    c.forbidden("spec.nodeAffinity", "field is immutable once set");
}

export function validateStorageClass(c: Causes, sc: StorageClass): void {
  if (!sc.provisioner) c.required("provisioner");
  validateOneOf(c, "reclaimPolicy", sc.reclaimPolicy, reclaimPolicies, false);
  validateOneOf(c, "volumeBindingMode", sc.volumeBindingMode, bindingModes, false);
}

export function validateStorageClassUpdate(c: Causes, sc: StorageClass, old: StorageClass): void {
  if (!isDeepStrictEqual(sc.parameters ?? {}, old.parameters ?? {}))
    c.forbidden("parameters", "updates to parameters are forbidden.");
  if (sc.provisioner !== old.provisioner) c.forbidden("provisioner", "updates to provisioner are forbidden.");
  if (sc.reclaimPolicy !== old.reclaimPolicy)
    c.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.");
  if (sc.volumeBindingMode !== old.volumeBindingMode) c.forbidden("volumeBindingMode", "field is immutable");
}
