/** EndpointSlice: a bounded share of a Service's endpoints with their conditions, written by the EndpointSlice controller. */

import type { EndpointSlice } from "../../proto/gen/api.js";
import { validateEndpointSlice } from "../api/validation/discovery.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

const unset = "<unset>";

/** As kubectl prints them: "80,443", or <unset> for a slice without ports. */
function slicePorts(slice: EndpointSlice): string {
  const ports = (slice.ports ?? []).map((p) => (p.port === undefined ? unset : String(p.port)));
  return ports.length > 0 ? ports.join(",") : unset;
}

/** The first three addresses and how many more. */
function sliceEndpoints(slice: EndpointSlice): string {
  const all = (slice.endpoints ?? []).flatMap((e) => e.addresses ?? []);
  if (all.length === 0) return unset;
  const shown = all.slice(0, 3).join(",");
  return all.length > 3 ? `${shown} + ${all.length - 3} more...` : shown;
}

export const endpointSliceKind = defineKind<EndpointSlice>({
  resource: {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.EndpointSlice",
    hasStatus: false,
  },
  defaults: (slice) => {
    for (const port of slice.ports ?? []) port.protocol ??= "TCP";
  },
  validate: (c, slice, old) => validateEndpointSlice(c, slice, old),
  columns: {
    headers: ["ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
    cells: (slice, now) => [
      slice.addressType ?? "",
      slicePorts(slice),
      sliceEndpoints(slice),
      created(slice, now),
    ],
  },
  describe: (w, slice) => {
    w.field(0, "AddressType", slice.addressType);
    w.table(
      0,
      "Ports",
      ["Name", "Port", "Protocol"],
      (slice.ports ?? []).map((p) => [
        p.name || unset,
        p.port === undefined ? unset : String(p.port),
        p.protocol ?? "TCP",
      ]),
    );
    w.section(0, "Endpoints");
    for (const e of slice.endpoints ?? []) {
      w.field(2, "- Addresses", (e.addresses ?? []).join(","));
      w.section(4, "Conditions");
      w.field(6, "Ready", String(e.conditions?.ready ?? "<unset>"));
      w.field(4, "Hostname", e.hostname || unset);
      w.field(4, "TargetRef", e.targetRef ? `${e.targetRef.kind}/${e.targetRef.name}` : unset);
      w.field(4, "NodeName", e.nodeName || unset);
    }
  },
});
