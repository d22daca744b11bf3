/** RoleBinding: grants a Role's or a ClusterRole's rules to subjects within one namespace. */

import type { RoleBinding } from "../../proto/gen/api.js";
import { validateRoleRef, validateSubjects } from "../api/validation/rbac.js";
import { created } from "../printers/cells.js";
import { bindingSubjectCells, roleRefCell } from "./clusterrolebinding.js";
import { defineKind } from "./kind.js";

export const roleBindingKind = defineKind<RoleBinding>({
  resource: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    singular: "rolebinding",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.RoleBinding",
    hasStatus: false,
  },
  validate: (c, binding, old) => {
    validateRoleRef(c, binding.roleRef, ["Role", "ClusterRole"], old?.roleRef);
    validateSubjects(c, "subjects", binding.subjects);
  },
  columns: {
    headers: ["ROLE", "AGE"],
    wideHeaders: ["USERS", "GROUPS", "SERVICEACCOUNTS"],
    cells: (b, now) => [roleRefCell(b.roleRef), created(b, now)],
    wideCells: (b) => bindingSubjectCells(b.subjects),
  },
});
