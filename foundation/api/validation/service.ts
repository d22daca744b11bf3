/**
 * Validation of Services and Endpoints: ports (range, protocol, names required and unique when
 * there are several, no duplicate port/protocol), targetPort, NodePort range, type, ClusterIP
 * syntax, ExternalName, traffic policies, LoadBalancer fields and IP families, session affinity; on
 * update, a ClusterIP once set stays and a loadBalancerClass does not change.
 */

import type { Endpoints, Service, ServiceSpec } from "../../../proto/gen/api.js";
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from "../labels.js";
import {
  type Causes,
  child,
  index,
  isIPv4OrIPv6,
  validateLabels,
  validateOneOf,
  validatePortNumber,
  validatePortNumOrName,
} from "./field.js";
import { protocols } from "./pod.js";

/** The NodePort range Kubernetes uses by default; the proxy and the allocator rely on it. */
export const nodePortRange = [30000, 32767] as const;

const serviceTypes = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
const trafficPolicies = ["Cluster", "Local"];
/** The types that open NodePorts (and so carry an external traffic policy). */
const externalTypes = new Set(["NodePort", "LoadBalancer"]);

export function validateService(c: Causes, svc: Service): void {
  const spec = svc.spec ?? {};
  validateOneOf(c, "spec.type", spec.type, serviceTypes, false);
  const type = spec.type ?? "ClusterIP";
  const headless = spec.clusterIP === "None";
  const externalName = type === "ExternalName";

  if (externalName) {
    // Upstream accepts a fully qualified name with its trailing dot.
    const name = (spec.externalName ?? "").replace(/\.$/, "");
    if (name === "") c.required("spec.externalName");
    else c.syntax("spec.externalName", spec.externalName, dns1123SubdomainErrors(name));
    if (spec.clusterIP) c.forbidden("spec.clusterIP", "may not be set for ExternalName services");
  }

  if (spec.clusterIP && !headless && !isIPv4OrIPv6(spec.clusterIP)) {
    c.invalid("spec.clusterIP", spec.clusterIP, "must be empty, 'None', or a valid IP address");
  }
  if (headless && externalTypes.has(type))
    c.invalid("spec.clusterIP", "None", `may not be 'None' for ${type} services`);
  validateTrafficAndFamilies(c, spec, type);
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    const p = index("spec.clusterIPs", i);
    if (ip !== "None" && !isIPv4OrIPv6(ip)) c.invalid(p, ip, "must be 'None' or a valid IP address");
    if (i === 0 && spec.clusterIP && ip !== spec.clusterIP) c.invalid(p, ip, "must match `spec.clusterIP`");
  });

  const ports = spec.ports ?? [];
  if (ports.length === 0 && !headless && !externalName) c.required("spec.ports");
  const names = new Set<string>();
  const portProtocols = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    const p = index("spec.ports", i);
    if (port.name) {
      c.syntax(child(p, "name"), port.name, dns1123LabelErrors(port.name));
      if (names.has(port.name)) c.duplicate(child(p, "name"), port.name);
      names.add(port.name);
    } else if (ports.length > 1) {
      c.required(child(p, "name"), "port names are required when a service has more than one port");
    }
    validatePortNumber(c, child(p, "port"), port.port);
    validateOneOf(c, child(p, "protocol"), port.protocol, protocols, false);
    const pp = `${port.port}/${port.protocol ?? "TCP"}`;
    if (portProtocols.has(pp)) c.duplicate(p, pp);
    portProtocols.add(pp);
    if (port.targetPort !== undefined) validatePortNumOrName(c, child(p, "targetPort"), port.targetPort);
    if (port.nodePort !== undefined) {
      if (!externalTypes.has(type))
        c.forbidden(child(p, "nodePort"), `may not be used when \`type\` is '${type}'`);
      else if (port.nodePort < nodePortRange[0] || port.nodePort > nodePortRange[1]) {
        c.invalid(
          child(p, "nodePort"),
          port.nodePort,
          `provided port is not in the valid range. The range of valid ports is ${nodePortRange[0]}-${nodePortRange[1]}`,
        );
      }
      const np = `${port.nodePort}/${port.protocol ?? "TCP"}`;
      if (nodePorts.has(np)) c.duplicate(child(p, "nodePort"), port.nodePort);
      nodePorts.add(np);
    }
  });

  validateLabels(c, "spec.selector", spec.selector);
  validateOneOf(c, "spec.sessionAffinity", spec.sessionAffinity, ["None", "ClientIP"], false);
  if (spec.sessionAffinityConfig) {
    if (spec.sessionAffinity !== "ClientIP") {
      c.forbidden("spec.sessionAffinityConfig", "must not be set when `sessionAffinity` is None");
    }
    const timeout = spec.sessionAffinityConfig.clientIP?.timeoutSeconds;
    if (timeout !== undefined && (timeout <= 0 || timeout > 86400)) {
      c.invalid(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        timeout,
        "must be greater than 0 and less than 86400",
      );
    }
  }
}

/**
 * Traffic policies, LoadBalancer fields and IP families, as upstream validates them; what this
 * cluster cannot do (IPv6, dual-stack) is refused naming the field rather than silently ignored.
 */
function validateTrafficAndFamilies(c: Causes, spec: ServiceSpec, type: string): void {
  const loadBalancer = type === "LoadBalancer";
  validateOneOf(c, "spec.internalTrafficPolicy", spec.internalTrafficPolicy, trafficPolicies, false);
  if (spec.externalTrafficPolicy) {
    if (!externalTypes.has(type)) {
      c.forbidden("spec.externalTrafficPolicy", "may only be set for NodePort or LoadBalancer services");
    } else validateOneOf(c, "spec.externalTrafficPolicy", spec.externalTrafficPolicy, trafficPolicies);
  }
  if (spec.healthCheckNodePort) {
    if (!loadBalancer || spec.externalTrafficPolicy !== "Local") {
      c.forbidden(
        "spec.healthCheckNodePort",
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      );
    } else if (spec.healthCheckNodePort < nodePortRange[0] || spec.healthCheckNodePort > nodePortRange[1]) {
      c.invalid(
        "spec.healthCheckNodePort",
        spec.healthCheckNodePort,
        `provided port is not in the valid range. The range of valid ports is ${nodePortRange[0]}-${nodePortRange[1]}`,
      );
    }
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && !loadBalancer) {
    c.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'");
  }
  if (spec.loadBalancerClass !== undefined) {
    if (!loadBalancer)
      c.forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'");
    else
      c.syntax("spec.loadBalancerClass", spec.loadBalancerClass, qualifiedNameErrors(spec.loadBalancerClass));
  }
  if (spec.loadBalancerIP) {
    if (!loadBalancer) c.forbidden("spec.loadBalancerIP", "may only be used when `type` is 'LoadBalancer'");
    else if (!isIPv4OrIPv6(spec.loadBalancerIP) || spec.loadBalancerIP.includes(":")) {
      c.invalid("spec.loadBalancerIP", spec.loadBalancerIP, "must be a valid IPv4 address");
    }
  }
  (spec.ipFamilies ?? []).forEach((family, i) => {
    const p = index("spec.ipFamilies", i);
    if (family === "IPv6") c.invalid(p, family, "not configured on this cluster (it is IPv4 only)");
    else validateOneOf(c, p, family, ["IPv4", "IPv6"]);
  });
  if ((spec.ipFamilies ?? []).length > 1) {
    c.invalid("spec.ipFamilies", spec.ipFamilies, "this cluster is not configured for dual-stack services");
  }
  if (spec.ipFamilyPolicy === "RequireDualStack") {
    c.invalid(
      "spec.ipFamilyPolicy",
      spec.ipFamilyPolicy,
      "this cluster is not configured for dual-stack services",
    );
  } else {
    validateOneOf(
      c,
      "spec.ipFamilyPolicy",
      spec.ipFamilyPolicy,
      ["SingleStack", "PreferDualStack", "RequireDualStack"],
      false,
    );
  }
}

/**
 * A ClusterIP, once allocated, stays. Leaving it out of an update is allowed: the apiserver keeps the
 * stored one, as Kubernetes does; changing it is not.
 */
export function validateServiceUpdate(c: Causes, svc: Service, old: Service): void {
  const oldIP = old.spec?.clusterIP;
  const newIP = svc.spec?.clusterIP;
  if (oldIP && newIP && newIP !== oldIP) c.immutable("spec.clusterIP", newIP);
  // Upstream: the class may be set when a Service becomes a LoadBalancer, never changed after.
  const oldClass = old.spec?.loadBalancerClass;
  if (
    old.spec?.type === "LoadBalancer" &&
    svc.spec?.type === "LoadBalancer" &&
    oldClass !== svc.spec?.loadBalancerClass
  ) {
    c.immutable("spec.loadBalancerClass", svc.spec?.loadBalancerClass ?? "");
  }
}

export function validateEndpoints(c: Causes, ep: Endpoints): void {
  (ep.subsets ?? []).forEach((subset, i) => {
    const p = index("subsets", i);
    for (const field of ["addresses", "notReadyAddresses"] as const) {
      (subset[field] ?? []).forEach((addr, j) => {
        const ap = index(child(p, field), j);
        if (!addr.ip) c.required(child(ap, "ip"));
        else if (!isIPv4OrIPv6(addr.ip)) c.invalid(child(ap, "ip"), addr.ip, "must be a valid IP address");
      });
    }
    const ports = subset.ports ?? [];
    ports.forEach((port, j) => {
      const pp = index(child(p, "ports"), j);
      if (ports.length > 1 && !port.name) c.required(child(pp, "name"));
      if (port.name) c.syntax(child(pp, "name"), port.name, dns1123LabelErrors(port.name));
      validatePortNumber(c, child(pp, "port"), port.port);
      validateOneOf(c, child(pp, "protocol"), port.protocol, protocols, false);
    });
  });
}
