/** IngressClass: which controller implements the Ingresses that name it, with its parameters. */

import type { IngressClass } from "../../proto/gen/api.js";
import { validateIngressClass } from "../api/validation/ingress.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";

/** kubectl's PARAMETERS cell: `Kind[.apiGroup]/name`. */
function parametersText(cls: IngressClass): string {
  const p = cls.spec?.parameters;
  if (!p) return none;
  return `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name}`;
}

export const ingressClassKind = defineKind<IngressClass>({
  resource: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "IngressClass",
    plural: "ingressclasses",
    singular: "ingressclass",
    shortNames: [],
    namespaced: false,
    subresources: [],
    message: "kctl.api.IngressClass",
    hasStatus: false,
  },
  // Upstream's SetDefaults_IngressClass: parameters without a scope are cluster-scoped.
  defaults: (cls) => {
    if (cls.spec?.parameters) cls.spec.parameters.scope ??= "Cluster";
  },
  validate: (c, cls, old) => validateIngressClass(c, cls, old),
  columns: {
    headers: ["CONTROLLER", "PARAMETERS", "AGE"],
    cells: (cls, now) => [cls.spec?.controller ?? "", parametersText(cls), created(cls, now)],
  },
  describe: (w, cls) => {
    w.field(0, "Controller", cls.spec?.controller);
    const p = cls.spec?.parameters;
    if (!p) return;
    w.section(0, "Parameters");
    if (p.apiGroup) w.field(2, "APIGroup", p.apiGroup);
    w.field(2, "Kind", p.kind);
    w.field(2, "Name", p.name);
    if (p.namespace) w.field(2, "Namespace", p.namespace);
    if (p.scope) w.field(2, "Scope", p.scope);
  },
});
