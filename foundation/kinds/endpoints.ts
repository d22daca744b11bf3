/** Endpoints: the ready and not-ready addresses behind a Service, written by the endpoints controller. */

import type { Endpoints } from "../../proto/gen/api.js";
import { defaultEndpoints } from "../api/defaults.js";
import { validateEndpoints } from "../api/validation/service.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";

function endpointList(ep: Endpoints): string {
  const all: string[] = [];
  for (const subset of ep.subsets ?? []) {
    const ports = subset.ports?.length ? subset.ports : [{ port: undefined }];
    for (const addr of subset.addresses ?? []) {
      for (const p of ports) all.push(p.port === undefined ? `${addr.ip}` : `${addr.ip}:${p.port}`);
    }
  }
  if (all.length === 0) return none;
  const shown = all.slice(0, 3).join(",");
  return all.length > 3 ? `${shown} + ${all.length - 3} more...` : shown;
}

export const endpointsKind = defineKind<Endpoints>({
  resource: {
    group: "",
    version: "v1",
    kind: "Endpoints",
    plural: "endpoints",
    singular: "endpoints",
    shortNames: ["ep"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Endpoints",
    hasStatus: false,
  },
  defaults: defaultEndpoints,
  validate: (c, ep) => validateEndpoints(c, ep),
  columns: {
    headers: ["ENDPOINTS", "AGE"],
    cells: (ep, now) => [endpointList(ep), created(ep, now)],
  },
  describe: (w, ep) => {
    w.section(0, "Subsets");
    for (const s of ep.subsets ?? []) {
      w.field(2, "Addresses", (s.addresses ?? []).map((a) => a.ip).join(","));
      w.field(2, "NotReadyAddresses", (s.notReadyAddresses ?? []).map((a) => a.ip).join(","));
      w.table(
        2,
        "Ports",
        ["Name", "Port", "Protocol"],
        (s.ports ?? []).map((p) => [p.name || "<unset>", String(p.port), p.protocol ?? "TCP"]),
      );
    }
  },
});
