/**
 * Validation of `metadata` shared by every kind: name and generateName syntax (the name rule is
 * chosen per kind), namespace presence, labels, annotations and their total size, owner references,
 * finalizers, and on update the fields that never change (name, namespace, uid, creationTimestamp).
 */

import type { ObjectMeta } from "../../../proto/gen/api.js";
import { atMostOneAnnotation, atMostOneValues } from "../at-most-one.js";
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from "../labels.js";
import type { ResourceInfo } from "../resource-info.js";
import { type Causes, child, dns1035LabelErrors, index, validateLabels } from "./field.js";

/** Kubernetes' limit on the summed length of all annotation keys and values. */
export const totalAnnotationSizeLimit = 256 * 1024;

export type NameCheck = (name: string) => string[];

/** Upstream's ValidatePathSegmentName: RBAC objects are named like `system:kube-scheduler`. */
function pathSegmentErrors(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  return /[/%]/.test(name) ? ["may not contain '/' or '%'"] : [];
}

const nameChecks: Record<string, NameCheck> = {
  Namespace: dns1123LabelErrors,
  Service: dns1035LabelErrors,
  Role: pathSegmentErrors,
  ClusterRole: pathSegmentErrors,
  RoleBinding: pathSegmentErrors,
  ClusterRoleBinding: pathSegmentErrors,
};

export function nameCheckFor(info: ResourceInfo): NameCheck {
  return nameChecks[info.kind] ?? dns1123SubdomainErrors;
}

export function validateObjectMeta(c: Causes, info: ResourceInfo, meta: ObjectMeta, path = "metadata"): void {
  const checkName = nameCheckFor(info);
  if (meta.name) {
    c.syntax(child(path, "name"), meta.name, checkName(meta.name));
  } else if (meta.generateName) {
    // A generated name appends random characters, so a trailing '-' is fine in the prefix.
    const prefix = meta.generateName.endsWith("-") ? `${meta.generateName.slice(0, -1)}a` : meta.generateName;
    c.syntax(child(path, "generateName"), meta.generateName, checkName(prefix));
  } else {
    c.required(child(path, "name"), "name or generateName is required");
  }
  if (info.namespaced) {
    if (!meta.namespace) c.required(child(path, "namespace"));
    else c.syntax(child(path, "namespace"), meta.namespace, dns1123LabelErrors(meta.namespace));
  } else if (meta.namespace) {
    c.forbidden(child(path, "namespace"), "not allowed on this type");
  }
  validateLabels(c, child(path, "labels"), meta.labels);
  validateAnnotations(c, child(path, "annotations"), meta.annotations);
  validateOwnerReferences(c, child(path, "ownerReferences"), meta.ownerReferences ?? []);
  (meta.finalizers ?? []).forEach((f, i) => {
    c.syntax(index(child(path, "finalizers"), i), f, qualifiedNameErrors(f));
  });
}

export function validateAnnotations(
  c: Causes,
  path: string,
  annotations: Record<string, string> | undefined,
): void {
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    c.syntax(path, k, qualifiedNameErrors(k.toLowerCase()));
    if (k === atMostOneAnnotation && !(atMostOneValues as readonly string[]).includes(v))
      c.notSupported(`${path}[${k}]`, v, atMostOneValues);
    total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (total > totalAnnotationSizeLimit) c.tooLong(path, totalAnnotationSizeLimit);
}

function validateOwnerReferences(
  c: Causes,
  path: string,
  refs: NonNullable<ObjectMeta["ownerReferences"]>,
): void {
  let controllers = 0;
  refs.forEach((ref, i) => {
    const p = index(path, i);
    for (const f of ["apiVersion", "kind", "name", "uid"] as const) if (!ref[f]) c.required(child(p, f));
    if (ref.controller) controllers++;
  });
  if (controllers > 1) c.invalid(path, refs.length, "Only one reference can have Controller set to true");
}

/**
 * Fields of metadata that an update may not change. name and namespace must match; uid and
 * creationTimestamp may be left out (the apiserver carries them over from the stored object, as
 * Kubernetes does) but not changed.
 */
export function validateObjectMetaUpdate(
  c: Causes,
  meta: ObjectMeta,
  old: ObjectMeta,
  path = "metadata",
): void {
  for (const f of ["name", "namespace"] as const) {
    if ((meta[f] ?? "") !== (old[f] ?? "")) c.immutable(child(path, f), meta[f] ?? "");
  }
  for (const f of ["uid", "creationTimestamp"] as const) {
    if (meta[f] !== undefined && old[f] !== undefined && meta[f] !== old[f])
      c.immutable(child(path, f), meta[f]);
  }
}
