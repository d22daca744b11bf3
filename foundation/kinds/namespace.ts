/**
 * Namespace: cluster-scoped; starts Active, and its status shows Terminating while it is emptied.
 * Every namespace carries `kubernetes.io/metadata.name: <name>`, set on each write as upstream does
 * (since 1.21), so NetworkPolicies can select a namespace by its name.
 */

import type { Namespace } from "../../proto/gen/api.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

export const namespaceNameLabel = "kubernetes.io/metadata.name";

export const namespaceKind = defineKind<Namespace>({
  resource: {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    shortNames: ["ns"],
    namespaced: false,
    subresources: ["status"],
    message: "kctl.api.Namespace",
    hasStatus: true,
  },
  defaults: (ns) => {
    if (ns.metadata?.name)
      ns.metadata.labels = { ...ns.metadata.labels, [namespaceNameLabel]: ns.metadata.name };
  },
  initialStatus: () => ({ phase: "Active" }),
  columns: {
    headers: ["STATUS", "AGE"],
    cells: (o, now) => [o.status?.phase ?? "Active", created(o, now)],
  },
  describe: (w, ns) => w.field(0, "Status", ns.status?.phase ?? "Active"),
});
