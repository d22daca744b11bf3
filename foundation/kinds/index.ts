/**
 * The kinds registry: one file per kind registers everything the control plane and kctl know about
 * it (resource row, defaults, validation, initial status, table columns, describe section), and this
 * list is the one place that names them all. Code that used to switch on `info.kind` asks `kindFor`.
 *
 * It owns per-kind rules only; the shared checks (metadata validation, pod spec rules, cell and
 * describe helpers) stay in foundation/api and foundation/printers. It must never import the
 * store, registry, apiserver, client or controllers: those import it.
 *
 * Adding a kind: write its message in proto/api.proto (npm run gen), add `kinds/<kind>.ts` with
 * `defineKind<Message>({ resource: {...}, ... })`, and list it below.
 */

import type { FieldCause } from "../api/errors.js";
import type { KubeObject } from "../api/object.js";
import type { ResourceInfo } from "../api/resource-info.js";
import { Causes } from "../api/validation/field.js";
import { validateObjectMeta, validateObjectMetaUpdate } from "../api/validation/meta.js";
import { clusterRoleKind } from "./clusterrole.js";
import { clusterRoleBindingKind } from "./clusterrolebinding.js";
import { configMapKind } from "./configmap.js";
import { controllerRevisionKind } from "./controllerrevision.js";
import { cronJobKind } from "./cronjob.js";
import { daemonSetKind } from "./daemonset.js";
import { deploymentKind } from "./deployment.js";
import { endpointsKind } from "./endpoints.js";
import { endpointSliceKind } from "./endpointslice.js";
import { eventKind } from "./event.js";
import { horizontalPodAutoscalerKind } from "./horizontalpodautoscaler.js";
import { ingressKind } from "./ingress.js";
import { ingressClassKind } from "./ingressclass.js";
import { jobKind } from "./job.js";
import type { RegisteredKind } from "./kind.js";
import { leaseKind } from "./lease.js";
import { namespaceKind } from "./namespace.js";
import { networkPolicyKind } from "./networkpolicy.js";
import { nodeKind } from "./node.js";
import { persistentVolumeKind } from "./persistentvolume.js";
import { persistentVolumeClaimKind } from "./persistentvolumeclaim.js";
import { podKind } from "./pod.js";
import { podDisruptionBudgetKind } from "./poddisruptionbudget.js";
import { replicaSetKind } from "./replicaset.js";
import { roleKind } from "./role.js";
import { roleBindingKind } from "./rolebinding.js";
import { secretKind } from "./secret.js";
import { serviceKind } from "./service.js";
import { serviceAccountKind } from "./serviceaccount.js";
import { statefulSetKind } from "./statefulset.js";
import { storageClassKind } from "./storageclass.js";

export type { DescribeContext, Kind, KindColumns, RegisteredKind } from "./kind.js";
export { defineKind } from "./kind.js";

/** Every kind the API serves, in discovery order. */
export const kinds: readonly RegisteredKind[] = [
  namespaceKind,
  podKind,
  serviceKind,
  endpointsKind,
  nodeKind,
  eventKind,
  configMapKind,
  secretKind,
  serviceAccountKind,
  replicaSetKind,
  deploymentKind,
  controllerRevisionKind,
  jobKind,
  cronJobKind,
  daemonSetKind,
  leaseKind,
  roleKind,
  clusterRoleKind,
  roleBindingKind,
  clusterRoleBindingKind,
  horizontalPodAutoscalerKind,
  podDisruptionBudgetKind,
  persistentVolumeKind,
  persistentVolumeClaimKind,
  storageClassKind,
  statefulSetKind,
  endpointSliceKind,
  networkPolicyKind,
  ingressClassKind,
  ingressKind,
];

const byGroupKind = new Map(kinds.map((k) => [`${k.resource.group}/${k.resource.kind}`, k]));

/** The registered kind of resource `info`; undefined for resources no kind file declares. */
export function kindFor(info: Pick<ResourceInfo, "group" | "kind">): RegisteredKind | undefined {
  return byGroupKind.get(`${info.group}/${info.kind}`);
}

/**
 * Fills Kubernetes' defaults into `obj`, a freshly decoded object of resource `info`, in place, and
 * returns it. Idempotent: defaulting an already defaulted object changes nothing, so the apiserver
 * may call it on every create and update (before `validateObject`). Kinds without defaults pass
 * through unchanged.
 */
export function applyDefaults<T extends KubeObject>(info: ResourceInfo, obj: T): T {
  kindFor(info)?.defaults?.(obj);
  return obj;
}

/**
 * Validates `obj`, a decoded and defaulted object of resource `info` (see `decodeObject` and
 * `applyDefaults`), whose metadata.namespace the apiserver has already set for namespaced kinds:
 * the metadata checks every kind shares, then the kind's own rules. With `old` (the stored object)
 * it also applies the update rules: name, namespace, uid and creationTimestamp unchanged, plus the
 * kind's (Deployment/ReplicaSet spec.selector unchanged; Pod spec unchanged except images,
 * activeDeadlineSeconds and added tolerations; a set Service clusterIP unchanged; immutable
 * ConfigMaps/Secrets unchanged). A /status write should pass the object with the stored spec
 * already copied in, so only the status part can differ.
 *
 * Returns the causes, empty when valid; never throws for bad input and never changes the object.
 * The caller turns a non-empty list into `invalid(info.kind, name, causes, info.group)` (HTTP 422).
 */
export function validateObject(info: ResourceInfo, obj: KubeObject, old?: KubeObject): FieldCause[] {
  const c = new Causes();
  validateObjectMeta(c, info, obj.metadata);
  if (old) validateObjectMetaUpdate(c, obj.metadata, old.metadata);
  kindFor(info)?.validate?.(c, obj, old);
  return c.list;
}

/**
 * Status a new object starts with: owners of status (controllers, agents) fill it later, so what a
 * client sends is dropped unless the kind says otherwise (Nodes, which their agent registers with
 * status; Pods start Pending, Namespaces Active).
 */
export function initialStatus(info: ResourceInfo, obj: KubeObject): unknown {
  const kind = kindFor(info);
  if (kind?.initialStatus) return kind.initialStatus(obj);
  return info.hasStatus ? undefined : obj.status;
}
