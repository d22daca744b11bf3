/** ClusterRole: RBAC permissions cluster-wide, or granted in one namespace by a RoleBinding. */

import type { ClusterRole } from "../../proto/gen/api.js";
import { validatePolicyRules } from "../api/validation/rbac.js";
import { defineKind } from "./kind.js";

export const clusterRoleKind = defineKind<ClusterRole>({
  resource: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    singular: "clusterrole",
    shortNames: [],
    namespaced: false,
    subresources: [],
    message: "kctl.api.ClusterRole",
    hasStatus: false,
  },
  validate: (c, role) => validatePolicyRules(c, "rules", role.rules, false),
  columns: { headers: ["CREATED AT"], cells: (role) => [role.metadata.creationTimestamp ?? ""] },
});
