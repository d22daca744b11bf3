/**
 * Kubernetes' defaulting of object fields a user may leave out (restartPolicy, imagePullPolicy,
 * probe timings, Deployment strategy, Service type and targetPort, Secret type, ...), one function
 * per kind, each registered by its kind in foundation/kinds (`applyDefaults` there dispatches).
 * They fill only absent fields, in place, are idempotent, and never touch metadata: the apiserver
 * sets namespace, uid, timestamps and generation itself.
 */

import type {
  Container,
  DaemonSet,
  Deployment,
  Endpoints,
  PodSpec,
  PodTemplateSpec,
  Probe,
  ReplicaSet,
  Secret,
  Service,
} from "../../proto/gen/api.js";
import { setEntry } from "./object.js";

/** Mode 0644, the default for files projected from ConfigMaps and Secrets. */
const defaultFileMode = 0o644;

export function defaultPod(pod: { spec?: PodSpec }): void {
  pod.spec ??= {};
  defaultPodSpec(pod.spec);
}

export function defaultReplicaSet(rs: ReplicaSet): void {
  rs.spec ??= {};
  const spec = rs.spec;
  spec.replicas ??= 1;
  defaultTemplate(spec.template);
}

export function defaultDeployment(d: Deployment): void {
  d.spec ??= {};
  const spec = d.spec;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  const strategy = spec.strategy;
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    strategy.rollingUpdate ??= {};
    const ru = strategy.rollingUpdate;
    ru.maxUnavailable ??= "25%";
    ru.maxSurge ??= "25%";
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.minReadySeconds ??= 0;
  defaultTemplate(spec.template);
}

/** As upstream: RollingUpdate one node at a time (maxUnavailable 1, maxSurge 0), 10 revisions kept. */
export function defaultDaemonSet(ds: DaemonSet): void {
  ds.spec ??= {};
  const spec = ds.spec;
  spec.updateStrategy ??= {};
  const strategy = spec.updateStrategy;
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    strategy.rollingUpdate ??= {};
    strategy.rollingUpdate.maxUnavailable ??= 1;
    strategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec.template);
}

function defaultTemplate(template: PodTemplateSpec | undefined): void {
  if (!template) return;
  template.spec ??= {};
  defaultPodSpec(template.spec);
}

function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v.configMap) v.configMap.defaultMode ??= defaultFileMode;
    if (v.secret) v.secret.defaultMode ??= defaultFileMode;
    if (v.hostPath) v.hostPath.type ??= "";
  }
}

function defaultContainer(c: Container): void {
  if (c.image !== undefined) c.imagePullPolicy ??= pullPolicyFor(c.image);
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  for (const p of c.ports ?? []) p.protocol ??= "TCP";
  // A limit without a request means "request exactly the limit", as in Kubernetes.
  if (c.resources?.limits) {
    c.resources.requests ??= {};
    for (const [name, limit] of Object.entries(c.resources.limits)) c.resources.requests[name] ??= limit;
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= "v1";
  }
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (probe) defaultProbe(probe);
  for (const handler of [c.lifecycle?.postStart, c.lifecycle?.preStop]) {
    if (handler?.httpGet) {
      handler.httpGet.path ??= "/";
      handler.httpGet.scheme ??= "HTTP";
    }
  }
}

function defaultProbe(p: Probe): void {
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    p.httpGet.path ??= "/";
    p.httpGet.scheme ??= "HTTP";
  }
}

/**
 * "Always" when the image has no tag or the tag is "latest", else "IfNotPresent" (a digest counts as
 * pinned). `registry:5000/app` has no tag: the colon belongs to the registry host.
 */
export function pullPolicyFor(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const lastPart = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastPart.lastIndexOf(":");
  const tag = colon < 0 ? "" : lastPart.slice(colon + 1);
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

export function defaultService(svc: Service): void {
  svc.spec ??= {};
  const spec = svc.spec;
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  // As upstream: an external policy where NodePorts open, and LoadBalancers get their NodePorts.
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.sessionAffinity === "ClientIP") {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const port of spec.ports ?? []) {
    port.protocol ??= "TCP";
    if (port.port !== undefined) port.targetPort ??= port.port;
  }
}

// stringData is write-only, as in Kubernetes: merged into data (winning over the same key), then dropped.
export function defaultSecret(secret: Secret): void {
  secret.type ??= "Opaque";
  if (secret.stringData) {
    secret.data ??= {};
    for (const [k, v] of Object.entries(secret.stringData)) {
      setEntry(secret.data, k, Buffer.from(v, "utf8").toString("base64"));
    }
    delete secret.stringData;
  }
}

export function defaultEndpoints(ep: Endpoints): void {
  for (const subset of ep.subsets ?? []) {
    for (const port of subset.ports ?? []) port.protocol ??= "TCP";
  }
}
