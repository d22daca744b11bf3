/**
 * Validation of Pods and pod specs (also used for the templates of ReplicaSets and Deployments):
 * containers and init containers, ports, env, resources, probes, lifecycle hooks, volumes and
 * mounts, tolerations, affinity, security contexts (security-context.ts); and on update, which parts of a running pod's spec may change.
 */

import { isDeepStrictEqual } from "node:util";
import type {
  Affinity,
  Container,
  EnvFromSource,
  EnvVar,
  LifecycleHandler,
  NodeSelectorTerm,
  Pod,
  PodAffinityTerm,
  PodSpec,
  Probe,
  ProjectedVolumeSource,
  ResourceRequirements,
  Toleration,
  Volume,
} from "../../../proto/gen/api.js";
import { isApiError } from "../errors.js";
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  qualifiedNameErrors,
  selectorFromLabelSelector,
} from "../labels.js";
import { quantityError, quantityValue } from "../quantity.js";
import {
  type Causes,
  child,
  configKeyErrors,
  envVarNameErrors,
  ianaSvcNameErrors,
  index,
  key,
  validateLabels,
  validateLocalObjectReferences,
  validateNonNegative,
  validateOneOf,
  validatePortNumber,
  validatePortNumOrName,
  validatePositive,
  validateQuantity,
} from "./field.js";
import { validateContainerSecurityContext, validatePodSecurityContext } from "./security-context.js";

export const restartPolicies = ["Always", "OnFailure", "Never"] as const;
const dnsPolicies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default"];
const pullPolicies = ["Always", "IfNotPresent", "Never"];
const terminationMessagePolicies = ["File", "FallbackToLogsOnError"];
export const protocols = ["TCP", "UDP", "SCTP"];
const resourceNames = ["cpu", "memory", "ephemeral-storage"];
export const taintEffects = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const nodeSelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];
const fieldRefPaths = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "status.hostIP",
  "status.podIP",
  "status.podIPs",
];
/** What a downwardAPI volume file may hold: the pod's own metadata (status changes, so not it). */
const downwardVolumePaths = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "metadata.labels",
  "metadata.annotations",
];
const fieldRefMapRe = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** Validates a pod spec at `path` ("spec" for a Pod, "spec.template.spec" for a Deployment). */
export function validatePodSpec(c: Causes, spec: PodSpec | undefined, path: string): void {
  if (!spec) {
    c.required(path);
    return;
  }
  const volumes = validateVolumes(c, spec.volumes ?? [], child(path, "volumes"));
  if (spec.serviceAccountName)
    c.syntax(
      child(path, "serviceAccountName"),
      spec.serviceAccountName,
      dns1123SubdomainErrors(spec.serviceAccountName),
    );
  validateLocalObjectReferences(c, child(path, "imagePullSecrets"), spec.imagePullSecrets);
  const names = new Set<string>();
  const checkContainers = (list: Container[] | undefined, field: string, init: boolean): void => {
    (list ?? []).forEach((container, i) => {
      const p = index(child(path, field), i);
      if (container.name) {
        if (names.has(container.name)) c.duplicate(child(p, "name"), container.name);
        names.add(container.name);
      }
      validateContainer(c, container, p, volumes, init, spec.terminationGracePeriodSeconds ?? 30);
      validateContainerSecurityContext(c, container.securityContext, spec, path, p);
    });
  };
  checkContainers(spec.initContainers, "initContainers", true);
  if (!spec.containers || spec.containers.length === 0)
    c.required(child(path, "containers"), "a pod needs at least one container");
  checkContainers(spec.containers, "containers", false);

  validateOneOf(c, child(path, "restartPolicy"), spec.restartPolicy, restartPolicies, false);
  validateOneOf(c, child(path, "dnsPolicy"), spec.dnsPolicy, dnsPolicies, false);
  validateNonNegative(c, child(path, "terminationGracePeriodSeconds"), spec.terminationGracePeriodSeconds);
  validatePositive(c, child(path, "activeDeadlineSeconds"), spec.activeDeadlineSeconds);
  validateLabels(c, child(path, "nodeSelector"), spec.nodeSelector);
  if (spec.nodeName) c.syntax(child(path, "nodeName"), spec.nodeName, dns1123SubdomainErrors(spec.nodeName));
  if (spec.hostname) c.syntax(child(path, "hostname"), spec.hostname, dns1123LabelErrors(spec.hostname));
  if (spec.subdomain) c.syntax(child(path, "subdomain"), spec.subdomain, dns1123LabelErrors(spec.subdomain));
  if (spec.schedulerName) {
    c.syntax(child(path, "schedulerName"), spec.schedulerName, dns1123SubdomainErrors(spec.schedulerName));
  }
  (spec.tolerations ?? []).forEach((t, i) => {
    validateToleration(c, t, index(child(path, "tolerations"), i));
  });
  if (spec.affinity) validateAffinity(c, spec.affinity, child(path, "affinity"));
  validatePodSecurityContext(c, spec, path);
}

function validateContainer(
  c: Causes,
  ct: Container,
  path: string,
  volumes: Set<string>,
  init: boolean,
  gracePeriodSeconds: number,
): void {
  if (!ct.name) c.required(child(path, "name"));
  else c.syntax(child(path, "name"), ct.name, dns1123LabelErrors(ct.name));
  if (!ct.image || ct.image.trim() === "") c.required(child(path, "image"));
  else if (ct.image !== ct.image.trim())
    c.invalid(child(path, "image"), ct.image, "must not have leading or trailing whitespace");
  validateOneOf(c, child(path, "imagePullPolicy"), ct.imagePullPolicy, pullPolicies, false);
  validateOneOf(
    c,
    child(path, "terminationMessagePolicy"),
    ct.terminationMessagePolicy,
    terminationMessagePolicies,
    false,
  );

  // A terminal would need the container's init on a pty held by the monitor; kshim gives it pipes.
  if (ct.tty) c.forbidden(child(path, "tty"), "containers run without a terminal on this cluster");

  const portNames = new Set<string>();
  (ct.ports ?? []).forEach((port, i) => {
    const p = index(child(path, "ports"), i);
    validatePortNumber(c, child(p, "containerPort"), port.containerPort);
    validateOneOf(c, child(p, "protocol"), port.protocol, protocols, false);
    if (port.name) {
      c.syntax(child(p, "name"), port.name, ianaSvcNameErrors(port.name));
      if (portNames.has(port.name)) c.duplicate(child(p, "name"), port.name);
      portNames.add(port.name);
    }
  });

  (ct.env ?? []).forEach((env, i) => {
    validateEnvVar(c, env, index(child(path, "env"), i));
  });
  (ct.envFrom ?? []).forEach((src, i) => {
    validateEnvFrom(c, src, index(child(path, "envFrom"), i));
  });
  if (ct.resources) validateResources(c, ct.resources, child(path, "resources"));

  const mountPaths = new Set<string>();
  (ct.volumeMounts ?? []).forEach((m, i) => {
    const p = index(child(path, "volumeMounts"), i);
    if (!m.name) c.required(child(p, "name"));
    else if (!volumes.has(m.name)) c.notFound(child(p, "name"), m.name);
    if (!m.mountPath) c.required(child(p, "mountPath"));
    else {
      if (!m.mountPath.startsWith("/"))
        c.invalid(child(p, "mountPath"), m.mountPath, "must be an absolute path");
      if (mountPaths.has(m.mountPath)) c.invalid(child(p, "mountPath"), m.mountPath, "must be unique");
      mountPaths.add(m.mountPath);
    }
    if (m.subPath) validateRelativePath(c, child(p, "subPath"), m.subPath);
  });

  const probes = [
    ["livenessProbe", ct.livenessProbe],
    ["readinessProbe", ct.readinessProbe],
    ["startupProbe", ct.startupProbe],
  ] as const;
  for (const [name, probe] of probes) {
    if (!probe) continue;
    if (init) c.forbidden(child(path, name), "may not be set for init containers");
    else validateProbe(c, probe, child(path, name), name !== "readinessProbe");
  }
  if (ct.lifecycle) {
    if (init) c.forbidden(child(path, "lifecycle"), "may not be set for init containers");
    for (const hook of ["postStart", "preStop"] as const) {
      const handler = ct.lifecycle[hook];
      if (handler) validateHook(c, handler, child(child(path, "lifecycle"), hook), gracePeriodSeconds);
    }
  }
}

function validateEnvVar(c: Causes, env: EnvVar, path: string): void {
  if (!env.name) c.required(child(path, "name"));
  else c.syntax(child(path, "name"), env.name, envVarNameErrors(env.name));
  const src = env.valueFrom;
  if (!src) return;
  const p = child(path, "valueFrom");
  if (env.value) c.invalid(p, "", "may not be specified when `value` is not empty");
  const set = [src.fieldRef, src.configMapKeyRef, src.secretKeyRef].filter((s) => s !== undefined).length;
  if (set === 0) c.invalid(p, "", "must specify one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`");
  if (set > 1) c.invalid(p, "", "may not have more than one field specified at a time");
  if (src.fieldRef) {
    const fp = src.fieldRef.fieldPath;
    const fpPath = child(child(p, "fieldRef"), "fieldPath");
    if (!fp) c.required(fpPath);
    else {
      const m = fieldRefMapRe.exec(fp);
      if (m) c.syntax(fpPath, fp, qualifiedNameErrors(m[2]!));
      else if (!fieldRefPaths.includes(fp)) {
        c.notSupported(fpPath, fp, [
          ...fieldRefPaths,
          "metadata.labels['<KEY>']",
          "metadata.annotations['<KEY>']",
        ]);
      }
    }
    if (src.fieldRef.apiVersion && src.fieldRef.apiVersion !== "v1") {
      c.notSupported(child(child(p, "fieldRef"), "apiVersion"), src.fieldRef.apiVersion, ["v1"]);
    }
  }
  for (const [field, ref] of [
    ["configMapKeyRef", src.configMapKeyRef],
    ["secretKeyRef", src.secretKeyRef],
  ] as const) {
    if (!ref) continue;
    const rp = child(p, field);
    if (!ref.name) c.required(child(rp, "name"));
    else c.syntax(child(rp, "name"), ref.name, dns1123SubdomainErrors(ref.name));
    if (!ref.key) c.required(child(rp, "key"));
    else c.syntax(child(rp, "key"), ref.key, configKeyErrors(ref.key));
  }
}

function validateEnvFrom(c: Causes, src: EnvFromSource, path: string): void {
  if (src.prefix) c.syntax(child(path, "prefix"), src.prefix, envVarNameErrors(src.prefix));
  const refs = [
    ["configMapRef", src.configMapRef],
    ["secretRef", src.secretRef],
  ] as const;
  const set = refs.filter(([, r]) => r !== undefined);
  if (set.length === 0) c.invalid(path, "", "must specify one of: `configMapRef` or `secretRef`");
  if (set.length > 1) c.invalid(path, "", "may not have more than one field specified at a time");
  for (const [field, ref] of set) {
    if (!ref?.name) c.required(child(child(path, field), "name"));
    else c.syntax(child(child(path, field), "name"), ref.name, dns1123SubdomainErrors(ref.name));
  }
}

function validateResources(c: Causes, res: ResourceRequirements, path: string): void {
  for (const which of ["limits", "requests"] as const) {
    for (const [name, q] of Object.entries(res[which] ?? {})) {
      const p = key(child(path, which), name);
      if (!resourceNames.includes(name)) c.notSupported(child(path, which), name, resourceNames);
      validateQuantity(c, p, q);
    }
  }
  for (const [name, request] of Object.entries(res.requests ?? {})) {
    const limit = res.limits?.[name];
    if (limit === undefined || quantityError(limit) || quantityError(request)) continue;
    if (quantityValue(request) > quantityValue(limit)) {
      c.invalid(
        key(child(path, "requests"), name),
        request,
        `must be less than or equal to ${name} limit of ${limit}`,
      );
    }
  }
}

// Like Kubernetes with PodLifecycleSleepActionAllowZero: a sleep may not outlast the grace period.
function validateHook(c: Causes, h: LifecycleHandler, path: string, gracePeriodSeconds: number): void {
  validateHandler(c, h, path);
  const seconds = h.sleep?.seconds;
  if (h.sleep && (seconds === undefined || seconds < 0 || seconds > gracePeriodSeconds)) {
    c.invalid(
      child(child(path, "sleep"), "seconds"),
      seconds,
      `must be non-negative and not more than terminationGracePeriodSeconds (${gracePeriodSeconds})`,
    );
  }
}

function validateHandler(c: Causes, h: LifecycleHandler, path: string): void {
  const set = [h.exec, h.httpGet, h.tcpSocket, h.sleep].filter((x) => x !== undefined).length;
  if (set === 0) c.required(path, "must specify a handler type");
  if (set > 1) c.forbidden(path, "may not specify more than 1 handler type");
  if (h.exec && (!h.exec.command || h.exec.command.length === 0))
    c.required(child(child(path, "exec"), "command"));
  if (h.httpGet) {
    const p = child(path, "httpGet");
    validatePortNumOrName(c, child(p, "port"), h.httpGet.port);
    validateOneOf(c, child(p, "scheme"), h.httpGet.scheme, ["HTTP", "HTTPS"], false);
    if (h.httpGet.path && !h.httpGet.path.startsWith("/"))
      c.invalid(child(p, "path"), h.httpGet.path, "must start with '/'");
  }
  if (h.tcpSocket) validatePortNumOrName(c, child(child(path, "tcpSocket"), "port"), h.tcpSocket.port);
}

function validateProbe(c: Causes, probe: Probe, path: string, successMustBeOne: boolean): void {
  validateHandler(c, probe, path);
  validateNonNegative(c, child(path, "initialDelaySeconds"), probe.initialDelaySeconds);
  for (const f of ["timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const) {
    validatePositive(c, child(path, f), probe[f]);
  }
  if (successMustBeOne && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    c.invalid(child(path, "successThreshold"), probe.successThreshold, "must be 1");
  }
}

function validateVolumes(c: Causes, volumes: Volume[], path: string): Set<string> {
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = index(path, i);
    if (!v.name) c.required(child(p, "name"));
    else {
      c.syntax(child(p, "name"), v.name, dns1123LabelErrors(v.name));
      if (names.has(v.name)) c.duplicate(child(p, "name"), v.name);
      names.add(v.name);
    }
    const sources = (
      ["emptyDir", "configMap", "secret", "hostPath", "projected", "persistentVolumeClaim"] as const
    ).filter((s) => v[s] !== undefined);
    if (sources.length === 0)
      c.required(
        p,
        "must specify a volume type (emptyDir, configMap, secret, hostPath, projected or persistentVolumeClaim)",
      );
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      c.required(child(child(p, "persistentVolumeClaim"), "claimName"));
    for (const extra of sources.slice(1))
      c.forbidden(child(p, extra), "may not specify more than 1 volume type");
    if (v.emptyDir) {
      validateOneOf(c, child(child(p, "emptyDir"), "medium"), v.emptyDir.medium, ["", "Memory"], false);
      validateQuantity(c, child(child(p, "emptyDir"), "sizeLimit"), v.emptyDir.sizeLimit);
    }
    if (v.configMap) {
      const cp = child(p, "configMap");
      if (!v.configMap.name) c.required(child(cp, "name"));
      validateProjection(c, cp, v.configMap.items, v.configMap.defaultMode);
    }
    if (v.secret) {
      const sp = child(p, "secret");
      if (!v.secret.secretName) c.required(child(sp, "secretName"));
      validateProjection(c, sp, v.secret.items, v.secret.defaultMode);
    }
    if (v.projected) validateProjected(c, v.projected, child(p, "projected"));
    if (v.hostPath) {
      const hp = child(p, "hostPath");
      if (!v.hostPath.path) c.required(child(hp, "path"));
      else if (!v.hostPath.path.startsWith("/"))
        c.invalid(child(hp, "path"), v.hostPath.path, "must be an absolute path");
      validateOneOf(
        c,
        child(hp, "type"),
        v.hostPath.type,
        ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"],
        false,
      );
    }
  });
  return names;
}

function validateProjection(
  c: Causes,
  path: string,
  items: { key?: string; path?: string; mode?: number }[] | undefined,
  defaultMode: number | undefined,
): void {
  validateFileMode(c, child(path, "defaultMode"), defaultMode);
  (items ?? []).forEach((item, i) => {
    const p = index(child(path, "items"), i);
    if (!item.key) c.required(child(p, "key"));
    else c.syntax(child(p, "key"), item.key, configKeyErrors(item.key));
    if (!item.path) c.required(child(p, "path"));
    else validateRelativePath(c, child(p, "path"), item.path);
    validateFileMode(c, child(p, "mode"), item.mode);
  });
}

/** Upstream's rules: one source per entry, and no two entries writing the same path. */
function validateProjected(c: Causes, vol: ProjectedVolumeSource, path: string): void {
  validateFileMode(c, child(path, "defaultMode"), vol.defaultMode);
  const written = new Set<string>();
  const claim = (p: string, file: string | undefined) => {
    if (!file) return;
    if (written.has(file)) c.invalid(p, file, "conflicting duplicate paths");
    written.add(file);
  };
  (vol.sources ?? []).forEach((src, i) => {
    const p = index(child(path, "sources"), i);
    const kinds = (["secret", "configMap", "downwardAPI", "serviceAccountToken"] as const).filter(
      (k) => src[k] !== undefined,
    );
    if (kinds.length === 0)
      c.required(p, "must specify one of: secret, configMap, downwardAPI, serviceAccountToken");
    for (const extra of kinds.slice(1))
      c.forbidden(child(p, extra), "may not specify more than 1 volume type");
    for (const k of ["secret", "configMap"] as const) {
      const ref = src[k];
      if (!ref) continue;
      if (!ref.name) c.required(child(child(p, k), "name"));
      validateProjection(c, child(p, k), ref.items, undefined);
      for (const item of ref.items ?? []) claim(child(child(p, k), "items"), item.path);
    }
    (src.downwardAPI?.items ?? []).forEach((item, j) => {
      const ip = index(child(child(p, "downwardAPI"), "items"), j);
      if (!item.path) c.required(child(ip, "path"));
      else validateRelativePath(c, child(ip, "path"), item.path);
      claim(ip, item.path);
      validateFileMode(c, child(ip, "mode"), item.mode);
      const fp = item.fieldRef?.fieldPath;
      const fpPath = child(child(ip, "fieldRef"), "fieldPath");
      if (!fp) c.required(fpPath);
      else if (!downwardVolumePaths.includes(fp) && !fieldRefMapRe.test(fp))
        c.notSupported(fpPath, fp, [
          ...downwardVolumePaths,
          "metadata.labels['<KEY>']",
          "metadata.annotations['<KEY>']",
        ]);
    });
    const token = src.serviceAccountToken;
    if (token) {
      const tp = child(p, "serviceAccountToken");
      if (!token.path) c.required(child(tp, "path"));
      else validateRelativePath(c, child(tp, "path"), token.path);
      claim(tp, token.path);
      const secs = token.expirationSeconds;
      if (secs !== undefined && secs < 600)
        c.invalid(child(tp, "expirationSeconds"), secs, "may not specify a duration less than 10 minutes");
      if (secs !== undefined && secs > 2 ** 32)
        c.invalid(
          child(tp, "expirationSeconds"),
          secs,
          "may not specify a duration larger than 2^32 seconds",
        );
    }
  });
}

function validateFileMode(c: Causes, path: string, mode: number | undefined): void {
  if (mode !== undefined && (mode < 0 || mode > 0o777)) {
    c.invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive");
  }
}

function validateRelativePath(c: Causes, path: string, value: string): void {
  if (value.startsWith("/")) c.invalid(path, value, "must be a relative path");
  if (value.split("/").includes("..")) c.invalid(path, value, "must not contain '..'");
}

function validateToleration(c: Causes, t: Toleration, path: string): void {
  if (t.key) c.syntax(child(path, "key"), t.key, qualifiedNameErrors(t.key));
  validateOneOf(c, child(path, "operator"), t.operator, ["Exists", "Equal"], false);
  const op = t.operator ?? "Equal";
  if (!t.key && op !== "Exists") {
    c.invalid(
      child(path, "operator"),
      op,
      'operator must be Exists when `key` is empty, which means "match all values and all keys"',
    );
  }
  if (op === "Exists" && t.value)
    c.invalid(child(path, "operator"), op, "value must be empty when `operator` is 'Exists'");
  validateOneOf(c, child(path, "effect"), t.effect, taintEffects, false);
  if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
    c.invalid(
      child(path, "effect"),
      t.effect ?? "",
      "effect must be 'NoExecute' when `tolerationSeconds` is set",
    );
  }
}

function validateAffinity(c: Causes, a: Affinity, path: string): void {
  const na = a.nodeAffinity;
  if (na) {
    const p = child(path, "nodeAffinity");
    const required = na.requiredDuringSchedulingIgnoredDuringExecution;
    if (required) {
      const rp = child(p, "requiredDuringSchedulingIgnoredDuringExecution");
      if (!required.nodeSelectorTerms?.length)
        c.required(child(rp, "nodeSelectorTerms"), "must have at least one node selector term");
      (required.nodeSelectorTerms ?? []).forEach((t, i) => {
        validateNodeSelectorTerm(c, t, index(child(rp, "nodeSelectorTerms"), i));
      });
    }
    (na.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((pref, i) => {
      const pp = index(child(p, "preferredDuringSchedulingIgnoredDuringExecution"), i);
      validateWeight(c, child(pp, "weight"), pref.weight);
      if (!pref.preference) c.required(child(pp, "preference"));
      else validateNodeSelectorTerm(c, pref.preference, child(pp, "preference"));
    });
  }
  for (const field of ["podAffinity", "podAntiAffinity"] as const) {
    const pa = a[field];
    if (!pa) continue;
    const p = child(path, field);
    (pa.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
      validatePodAffinityTerm(c, term, index(child(p, "requiredDuringSchedulingIgnoredDuringExecution"), i));
    });
    (pa.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((w, i) => {
      const wp = index(child(p, "preferredDuringSchedulingIgnoredDuringExecution"), i);
      validateWeight(c, child(wp, "weight"), w.weight);
      if (!w.podAffinityTerm) c.required(child(wp, "podAffinityTerm"));
      else validatePodAffinityTerm(c, w.podAffinityTerm, child(wp, "podAffinityTerm"));
    });
  }
}

function validateWeight(c: Causes, path: string, weight: number | undefined): void {
  if (weight === undefined) c.required(path);
  else if (weight < 1 || weight > 100) c.invalid(path, weight, "must be in the range 1-100");
}

function validateNodeSelectorTerm(c: Causes, term: NodeSelectorTerm, path: string): void {
  for (const field of ["matchExpressions", "matchFields"] as const) {
    (term[field] ?? []).forEach((req, i) => {
      const p = index(child(path, field), i);
      if (!req.key) c.required(child(p, "key"));
      else if (field === "matchExpressions") c.syntax(child(p, "key"), req.key, qualifiedNameErrors(req.key));
      else if (req.key !== "metadata.name") c.notSupported(child(p, "key"), req.key, ["metadata.name"]);
      validateOneOf(c, child(p, "operator"), req.operator, nodeSelectorOperators);
      const n = req.values?.length ?? 0;
      if ((req.operator === "In" || req.operator === "NotIn") && n === 0) {
        c.required(child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
      }
      if ((req.operator === "Exists" || req.operator === "DoesNotExist") && n > 0) {
        c.forbidden(child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
      if ((req.operator === "Gt" || req.operator === "Lt") && (n !== 1 || !/^-?\d+$/.test(req.values![0]!))) {
        c.required(
          child(p, "values"),
          "must be specified single integer value when `operator` is 'Lt' or 'Gt'",
        );
      }
    });
  }
}

function validatePodAffinityTerm(c: Causes, term: PodAffinityTerm, path: string): void {
  if (!term.topologyKey) c.required(child(path, "topologyKey"), "can not be empty");
  else c.syntax(child(path, "topologyKey"), term.topologyKey, qualifiedNameErrors(term.topologyKey));
  if (term.labelSelector) validateLabelSelectorAt(c, child(path, "labelSelector"), term.labelSelector);
  (term.namespaces ?? []).forEach((ns, i) => {
    c.syntax(index(child(path, "namespaces"), i), ns, dns1123LabelErrors(ns));
  });
}

/** Records a LabelSelector's syntax errors (bad operator, missing values, bad keys) at `path`. */
export function validateLabelSelectorAt(
  c: Causes,
  path: string,
  selector: Parameters<typeof selectorFromLabelSelector>[0],
): boolean {
  try {
    selectorFromLabelSelector(selector);
    return true;
  } catch (err) {
    if (!isApiError(err)) throw err;
    // The message reads "invalid label selector: matchExpressions[0].operator: ..."; keep the sub-path.
    const m = /^invalid label selector: ([^:]+): (.*)$/s.exec(err.message);
    if (m) c.invalid(child(path, m[1]!), "", m[2]!);
    else c.invalid(path, "", err.message);
    return false;
  }
}

/** Validates a whole Pod object's spec. */
export function validatePod(c: Causes, pod: Pod): void {
  validatePodSpec(c, pod.spec, "spec");
}

/**
 * A pod's spec is fixed once created, except container and init container images,
 * activeDeadlineSeconds (set, or lowered), and tolerations (only added). Kubernetes compares the
 * whole spec with those fields masked; so do we, and report one Forbidden cause at `spec`.
 */
export function validatePodUpdate(c: Causes, pod: Pod, old: Pod): void {
  const spec = pod.spec ?? {};
  const oldSpec = old.spec ?? {};
  // Compared only after stripUndefined, so fields may come out undefined here.
  const masked = (s: PodSpec, images: PodSpec): unknown => ({
    ...s,
    containers: s.containers?.map((ct, i) => ({ ...ct, image: images.containers?.[i]?.image ?? ct.image })),
    initContainers: s.initContainers?.map((ct, i) => ({
      ...ct,
      image: images.initContainers?.[i]?.image ?? ct.image,
    })),
    activeDeadlineSeconds: images.activeDeadlineSeconds,
    tolerations: images.tolerations,
  });
  if (!isDeepStrictEqual(stripUndefined(masked(spec, oldSpec)), stripUndefined(oldSpec))) {
    c.forbidden(
      "spec",
      "pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)",
    );
  }
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (
    oldDeadline !== undefined &&
    (spec.activeDeadlineSeconds === undefined || spec.activeDeadlineSeconds > oldDeadline)
  ) {
    c.invalid(
      "spec.activeDeadlineSeconds",
      spec.activeDeadlineSeconds ?? "",
      "must be less than or equal to the previous value and cannot be removed",
    );
  }
  for (const t of oldSpec.tolerations ?? []) {
    if (!(spec.tolerations ?? []).some((n) => isDeepStrictEqual(stripUndefined(n), stripUndefined(t)))) {
      c.forbidden(
        "spec.tolerations",
        `existing toleration can not be modified or removed: ${JSON.stringify(t)}`,
      );
    }
  }
}

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
