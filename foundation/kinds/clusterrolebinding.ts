/** ClusterRoleBinding: grants a ClusterRole's rules to subjects in every namespace. */

import type { ClusterRoleBinding, RoleRef, Subject } from "../../proto/gen/api.js";
import { validateRoleRef, validateSubjects } from "../api/validation/rbac.js";
import { created } from "../printers/cells.js";
import { defineKind } from "./kind.js";

/** `ClusterRole/view`, as kubectl prints a binding's role. */
export const roleRefCell = (ref: RoleRef | undefined): string => (ref ? `${ref.kind}/${ref.name}` : "");

/** USERS, GROUPS, SERVICEACCOUNTS (`namespace/name`), comma-separated, as kubectl's wide columns. */
export function bindingSubjectCells(subjects: readonly Subject[] | undefined): string[] {
  const of = (kind: string) =>
    (subjects ?? [])
      .filter((s) => s.kind === kind)
      .map((s) => (kind === "ServiceAccount" ? `${s.namespace}/${s.name}` : s.name))
      .join(", ");
  return [of("User"), of("Group"), of("ServiceAccount")];
}

export const clusterRoleBindingKind = defineKind<ClusterRoleBinding>({
  resource: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    singular: "clusterrolebinding",
    shortNames: [],
    namespaced: false,
    subresources: [],
    message: "kctl.api.ClusterRoleBinding",
    hasStatus: false,
  },
  validate: (c, binding, old) => {
    validateRoleRef(c, binding.roleRef, ["ClusterRole"], old?.roleRef);
    validateSubjects(c, "subjects", binding.subjects);
  },
  columns: {
    headers: ["ROLE", "AGE"],
    wideHeaders: ["USERS", "GROUPS", "SERVICEACCOUNTS"],
    cells: (b, now) => [roleRefCell(b.roleRef), created(b, now)],
    wideCells: (b) => bindingSubjectCells(b.subjects),
  },
});
