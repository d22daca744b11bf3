/** Role: RBAC permissions within one namespace. */

import type { Role } from "../../proto/gen/api.js";
import { validatePolicyRules } from "../api/validation/rbac.js";
import { defineKind } from "./kind.js";

export const roleKind = defineKind<Role>({
  resource: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    plural: "roles",
    singular: "role",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Role",
    hasStatus: false,
  },
  validate: (c, role) => validatePolicyRules(c, "rules", role.rules, true),
  columns: { headers: ["CREATED AT"], cells: (role) => [role.metadata.creationTimestamp ?? ""] },
});
