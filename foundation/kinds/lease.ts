/** Lease: a named, renewed claim (node heartbeats, leader election). */

import type { Lease } from "../../proto/gen/api.js";
import { validateLease } from "../api/validation/cluster.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

export const leaseKind = defineKind<Lease>({
  resource: {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Lease",
    hasStatus: false,
  },
  validate: (c, lease) => validateLease(c, lease),
  columns: {
    headers: ["HOLDER", "AGE"],
    cells: (lease, now) => [lease.spec?.holderIdentity ?? "", created(lease, now)],
  },
});
