/**
 * Builders of the objects controller tests preload: short to call, complete enough for the
 * controllers (labels, owners, Ready conditions with times), nothing more.
 */

import { newControllerRef as controllerRef } from "../../../foundation/api/owner-references.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type {
  Deployment,
  DeploymentSpec,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  ReplicaSetStatus,
} from "../../../proto/gen/api.js";
import type { ApiObject } from "../../client/controller-client.js";

export const testNamespace = "default";
export const t0 = Date.parse("2024-01-01T00:00:00Z");

export { newControllerRef as controllerRef } from "../../../foundation/api/owner-references.js";

export function template(labels: Record<string, string>, image = "nginx:1"): PodTemplateSpec {
  return { metadata: { labels: { ...labels } }, spec: { containers: [{ name: "app", image }] } };
}

export interface PodOptions {
  labels?: Record<string, string>;
  owner?: ApiObject;
  uid?: string;
  node?: string;
  phase?: string;
  /** Ready since this time (ms); omitted: not Ready. */
  readySince?: number;
  created?: number;
  restarts?: number;
  deleting?: boolean;
  annotations?: Record<string, string>;
}

export function pod(name: string, o: PodOptions = {}): Pod {
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: testNamespace,
      labels: { ...(o.labels ?? {}) },
      creationTimestamp: rfc3339(o.created ?? t0),
    },
    spec: { containers: [{ name: "app", image: "nginx:1" }] },
    status: { phase: o.phase ?? (o.node ? "Running" : "Pending") },
  };
  if (o.uid) p.metadata.uid = o.uid;
  if (o.owner) p.metadata.ownerReferences = [controllerRef(o.owner)];
  if (o.node) p.spec!.nodeName = o.node;
  if (o.annotations) p.metadata.annotations = { ...o.annotations };
  if (o.deleting) p.metadata.deletionTimestamp = rfc3339(t0);
  if (o.readySince !== undefined) {
    p.status!.conditions = [{ type: "Ready", status: "True", lastTransitionTime: rfc3339(o.readySince) }];
  }
  if (o.restarts !== undefined) p.status!.containerStatuses = [{ name: "app", restartCount: o.restarts }];
  return p;
}

export interface ReplicaSetOptions {
  replicas?: number;
  selector?: Record<string, string>;
  labels?: Record<string, string>;
  image?: string;
  uid?: string;
  owner?: ApiObject;
  minReadySeconds?: number;
  annotations?: Record<string, string>;
  status?: ReplicaSetStatus;
  created?: number;
  generation?: number;
}

export function replicaSet(name: string, o: ReplicaSetOptions = {}): ReplicaSet {
  const selector = o.selector ?? { app: name };
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: testNamespace,
      labels: { ...(o.labels ?? selector) },
      generation: o.generation ?? 1,
      creationTimestamp: rfc3339(o.created ?? t0),
    },
    spec: {
      replicas: o.replicas ?? 1,
      minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { ...selector } },
      template: template(o.labels ?? selector, o.image),
    },
  };
  if (o.uid) rs.metadata.uid = o.uid;
  if (o.owner) rs.metadata.ownerReferences = [controllerRef(o.owner)];
  if (o.annotations) rs.metadata.annotations = { ...o.annotations };
  if (o.status) rs.status = { ...o.status };
  return rs;
}

export interface DeploymentOptions extends Partial<Omit<DeploymentSpec, "template" | "selector">> {
  labels?: Record<string, string>;
  image?: string;
  uid?: string;
  annotations?: Record<string, string>;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
}

/** A Deployment as the registry stores it: defaults filled (25%/25%, history 10, deadline 600 s). */
export function deployment(name: string, o: DeploymentOptions = {}): Deployment {
  const labels = o.labels ?? { app: name };
  const { labels: _l, image, uid, annotations, maxSurge, maxUnavailable, ...spec } = o;
  const strategy = spec.strategy ?? {
    type: "RollingUpdate",
    rollingUpdate: { maxSurge: maxSurge ?? "25%", maxUnavailable: maxUnavailable ?? "25%" },
  };
  const d: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: testNamespace, generation: 1, creationTimestamp: rfc3339(t0) },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      minReadySeconds: 0,
      ...spec,
      strategy,
      selector: { matchLabels: { ...labels } },
      template: template(labels, image),
    },
  };
  if (uid) d.metadata.uid = uid;
  if (annotations) d.metadata.annotations = { ...annotations };
  return d;
}
