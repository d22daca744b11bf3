/** Namespace: cluster-scoped; starts Active, and its status shows Terminating while it is emptied. */

import type { Namespace } from "../../proto/gen/api.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

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
  initialStatus: () => ({ phase: "Active" }),
  columns: {
    headers: ["STATUS", "AGE"],
    cells: (o, now) => [o.status?.phase ?? "Active", created(o, now)],
  },
  describe: (w, ns) => w.field(0, "Status", ns.status?.phase ?? "Active"),
});
