/**
 * Validation of the cluster bookkeeping kinds: Node (taints, pod CIDRs), Lease (durations), Event
 * (the object it is about, its type and count). Namespaces need only their metadata checks.
 */

import type { Event, Lease, Node } from "../../../proto/gen/api.js";
import { labelValueErrors, qualifiedNameErrors } from "../labels.js";
import {
  type Causes,
  child,
  index,
  isIPv4OrIPv6,
  validateNonNegative,
  validateOneOf,
  validatePositive,
} from "./field.js";
import { taintEffects } from "./pod.js";

function isCidr(value: string): boolean {
  const slash = value.indexOf("/");
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const max = ip.includes(":") ? 128 : 32;
  return isIPv4OrIPv6(ip) && /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

export function validateNode(c: Causes, node: Node): void {
  const spec = node.spec ?? {};
  if (spec.podCIDR && !isCidr(spec.podCIDR))
    c.invalid("spec.podCIDR", spec.podCIDR, "must be a valid CIDR such as 10.244.1.0/24");
  (spec.podCIDRs ?? []).forEach((cidr, i) => {
    if (!isCidr(cidr))
      c.invalid(index("spec.podCIDRs", i), cidr, "must be a valid CIDR such as 10.244.1.0/24");
  });
  const seen = new Set<string>();
  (spec.taints ?? []).forEach((taint, i) => {
    const p = index("spec.taints", i);
    if (!taint.key) c.required(child(p, "key"));
    else c.syntax(child(p, "key"), taint.key, qualifiedNameErrors(taint.key));
    if (taint.value) c.syntax(child(p, "value"), taint.value, labelValueErrors(taint.value));
    validateOneOf(c, child(p, "effect"), taint.effect, taintEffects);
    const id = `${taint.key}:${taint.effect}`;
    if (seen.has(id)) c.duplicate(p, id);
    seen.add(id);
  });
}

export function validateLease(c: Causes, lease: Lease): void {
  validatePositive(c, "spec.leaseDurationSeconds", lease.spec?.leaseDurationSeconds);
  validateNonNegative(c, "spec.leaseTransitions", lease.spec?.leaseTransitions);
}

export function validateEvent(c: Causes, event: Event): void {
  if (!event.involvedObject) c.required("involvedObject");
  else {
    if (!event.involvedObject.kind) c.required("involvedObject.kind");
    if (!event.involvedObject.name) c.required("involvedObject.name");
    const ns = event.involvedObject.namespace;
    if (ns && ns !== event.metadata.namespace) {
      c.invalid("involvedObject.namespace", ns, "does not match event.namespace");
    }
  }
  validateOneOf(c, "type", event.type, ["Normal", "Warning"], false);
  validateNonNegative(c, "count", event.count);
}
