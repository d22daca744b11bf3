/**
 * Validation of Ingress and IngressClass (networking.k8s.io/v1), after upstream's
 * ValidateIngressSpec and ValidateIngressClass: rule hosts (DNS names, `*.` wildcards, never IPs),
 * paths by pathType, service backends (name and exactly one of port name/number), TLS hosts and
 * secret names, the class name, and IngressClass controller and parameters. Resource backends
 * parse but are refused by name: no controller here serves them.
 */

import { isIP } from "node:net";
import type {
  HTTPIngressPath,
  Ingress,
  IngressBackend,
  IngressClass,
  IngressClassParametersReference,
} from "../../../proto/gen/api.js";
import { dns1123LabelErrors, dns1123SubdomainErrors } from "../labels.js";
import {
  type Causes,
  child,
  dns1035LabelErrors,
  ianaSvcNameErrors,
  index,
  validateOneOf,
  validatePortNumber,
} from "./field.js";

export const pathTypes = ["Exact", "ImplementationSpecific", "Prefix"];
export const parameterScopes = ["Cluster", "Namespace"];
/** The annotation older clients name the class with; upstream refuses it beside spec.ingressClassName. */
export const ingressClassAnnotation = "kubernetes.io/ingress.class";

// Sequences that would let a path escape its prefix once a proxy normalises it (upstream's list).
const invalidPathSequences = ["//", "/./", "/../", "%2f", "%2F"];
const invalidPathSuffixes = ["/..", "/."];

/** A rule or TLS host: a DNS-1123 subdomain, optionally behind one leading `*.`, never an IP. */
export function hostErrors(host: string): string[] {
  if (isIP(host) !== 0) return ["must be a DNS name, not an IP address"];
  if (host.startsWith("*.")) {
    return dns1123SubdomainErrors(host.slice(2)).map(
      (e) => `a wildcard host must start with '*.' followed by a DNS subdomain: ${e}`,
    );
  }
  return dns1123SubdomainErrors(host);
}

export function validateIngress(c: Causes, ing: Ingress): void {
  const spec = ing.spec ?? {};
  if (!spec.rules?.length && !spec.defaultBackend) {
    c.invalid("spec", "", "either `defaultBackend` or `rules` must be specified");
  }
  if (spec.defaultBackend) validateBackend(c, "spec.defaultBackend", spec.defaultBackend);
  for (const [i, rule] of (spec.rules ?? []).entries()) {
    const path = index("spec.rules", i);
    if (rule.host) c.syntax(child(path, "host"), rule.host, hostErrors(rule.host));
    if (!rule.http) continue;
    const pathsPath = child(child(path, "http"), "paths");
    if (!rule.http.paths?.length) c.required(pathsPath);
    for (const [j, p] of (rule.http.paths ?? []).entries()) validatePath(c, index(pathsPath, j), p);
  }
  for (const [i, tls] of (spec.tls ?? []).entries()) {
    const path = index("spec.tls", i);
    for (const [j, host] of (tls.hosts ?? []).entries())
      c.syntax(index(child(path, "hosts"), j), host, hostErrors(host));
    if (tls.secretName)
      c.syntax(child(path, "secretName"), tls.secretName, dns1123SubdomainErrors(tls.secretName));
  }
  if (spec.ingressClassName) {
    c.syntax("spec.ingressClassName", spec.ingressClassName, dns1123SubdomainErrors(spec.ingressClassName));
    const annotated = ing.metadata.annotations?.[ingressClassAnnotation];
    if (annotated !== undefined) {
      c.invalid(
        `metadata.annotations[${ingressClassAnnotation}]`,
        annotated,
        "can not be set when the class field is also set",
      );
    }
  }
}

function validatePath(c: Causes, path: string, p: HTTPIngressPath): void {
  const at = child(path, "path");
  validateOneOf(c, child(path, "pathType"), p.pathType, pathTypes);
  const text = p.path ?? "";
  if (p.pathType === "Exact" || p.pathType === "Prefix") {
    if (!text.startsWith("/")) c.invalid(at, text, "must be an absolute path");
    for (const seq of invalidPathSequences)
      if (text.includes(seq)) c.invalid(at, text, `must not contain '${seq}'`);
    for (const suffix of invalidPathSuffixes)
      if (text.endsWith(suffix)) c.invalid(at, text, `cannot end with '${suffix}'`);
  } else if (text !== "" && !text.startsWith("/")) {
    c.invalid(at, text, "must be an absolute path");
  }
  if (!p.backend) c.required(child(path, "backend"));
  else validateBackend(c, child(path, "backend"), p.backend);
}

function validateBackend(c: Causes, path: string, b: IngressBackend): void {
  if (b.service && b.resource) {
    c.invalid(path, "", "cannot set both resource and service backends");
    return;
  }
  if (b.resource) {
    c.forbidden(child(path, "resource"), "resource backends are not supported: use a service backend");
    return;
  }
  if (!b.service) {
    c.invalid(path, "", "one backend (resource or service) must be specified");
    return;
  }
  const svc = child(path, "service");
  if (!b.service.name) c.required(child(svc, "name"));
  else c.syntax(child(svc, "name"), b.service.name, dns1035LabelErrors(b.service.name));
  const port = child(svc, "port");
  const { name, number } = b.service.port ?? {};
  if (name && number) c.invalid(port, "", "cannot set both port name & port number");
  else if (name) c.syntax(child(port, "name"), name, ianaSvcNameErrors(name));
  else if (number !== undefined) validatePortNumber(c, child(port, "number"), number);
  else c.required(port, "port name or number must be specified");
}

/** IngressClass: a domain-prefixed controller name (immutable) and optional parameters. */
export function validateIngressClass(c: Causes, cls: IngressClass, old: IngressClass | undefined): void {
  const controller = cls.spec?.controller;
  if (!controller) c.required("spec.controller");
  else {
    if (controller.length > 250) c.tooLong("spec.controller", 250, "characters");
    c.syntax("spec.controller", controller, domainPrefixedPathErrors(controller));
  }
  if (old && old.spec?.controller !== controller) c.immutable("spec.controller", controller);
  if (cls.spec?.parameters) validateParameters(c, "spec.parameters", cls.spec.parameters);
}

function domainPrefixedPathErrors(value: string): string[] {
  const slash = value.indexOf("/");
  if (slash <= 0 || slash === value.length - 1)
    return ['must be a domain-prefixed path (such as "acme.io/foo")'];
  return dns1123SubdomainErrors(value.slice(0, slash));
}

function validateParameters(c: Causes, path: string, p: IngressClassParametersReference): void {
  if (!p.kind) c.required(child(path, "kind"));
  if (!p.name) c.required(child(path, "name"));
  if (p.apiGroup) c.syntax(child(path, "apiGroup"), p.apiGroup, dns1123SubdomainErrors(p.apiGroup));
  validateOneOf(c, child(path, "scope"), p.scope, parameterScopes);
  if (p.scope === "Namespace") {
    if (!p.namespace) c.required(child(path, "namespace"), "`parameters.scope` is set to 'Namespace'");
    else c.syntax(child(path, "namespace"), p.namespace, dns1123LabelErrors(p.namespace));
  } else if (p.namespace) {
    c.forbidden(child(path, "namespace"), "`parameters.scope` is set to 'Cluster'");
  }
}
