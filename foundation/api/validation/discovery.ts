/**
 * Validation of EndpointSlices (discovery.k8s.io/v1), after upstream's
 * pkg/apis/discovery/validation: an address type of IPv4, IPv6 or FQDN that never changes, at most
 * 1000 endpoints of 1 to 100 addresses each matching that type, DNS-label hostnames, at most 100
 * ports with unique names.
 */

import type { EndpointSlice } from "../../../proto/gen/api.js";
import { dns1123LabelErrors, dns1123SubdomainErrors } from "../labels.js";
import { type Causes, child, index, isIPv4OrIPv6, validateOneOf, validatePortNumber } from "./field.js";
import { protocols } from "./pod.js";

export const addressTypes = ["IPv4", "IPv6", "FQDN"];
const maxEndpoints = 1000;
const maxAddresses = 100;
const maxPorts = 100;

function addressErrors(type: string | undefined, address: string): string[] {
  switch (type) {
    case "IPv4":
      return isIPv4OrIPv6(address) && !address.includes(":") ? [] : ["must be a valid IPv4 address"];
    case "IPv6":
      return isIPv4OrIPv6(address) && address.includes(":") ? [] : ["must be a valid IPv6 address"];
    case "FQDN":
      return dns1123SubdomainErrors(address);
    default:
      return [];
  }
}

export function validateEndpointSlice(c: Causes, slice: EndpointSlice, old?: EndpointSlice): void {
  validateOneOf(c, "addressType", slice.addressType, addressTypes, true);
  if (old && slice.addressType !== old.addressType) c.immutable("addressType", slice.addressType);

  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > maxEndpoints) c.tooLong("endpoints", maxEndpoints, "items");
  endpoints.forEach((ep, i) => {
    const p = index("endpoints", i);
    const addresses = ep.addresses ?? [];
    if (addresses.length === 0) c.required(child(p, "addresses"), "must contain at least 1 address");
    if (addresses.length > maxAddresses) c.tooLong(child(p, "addresses"), maxAddresses, "items");
    addresses.forEach((a, j) => {
      c.syntax(index(child(p, "addresses"), j), a, addressErrors(slice.addressType, a));
    });
    if (ep.hostname) c.syntax(child(p, "hostname"), ep.hostname, dns1123LabelErrors(ep.hostname));
    if (ep.nodeName) c.syntax(child(p, "nodeName"), ep.nodeName, dns1123SubdomainErrors(ep.nodeName));
  });

  const ports = slice.ports ?? [];
  if (ports.length > maxPorts) c.tooLong("ports", maxPorts, "items");
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = index("ports", i);
    const name = port.name ?? "";
    if (name) c.syntax(child(p, "name"), name, dns1123LabelErrors(name));
    if (names.has(name)) c.duplicate(child(p, "name"), name);
    names.add(name);
    if (port.port !== undefined) validatePortNumber(c, child(p, "port"), port.port);
    validateOneOf(c, child(p, "protocol"), port.protocol, protocols, false);
  });
}
