/** Field rules of the RBAC kinds (upstream's pkg/apis/rbac/validation). */

import type { PolicyRule, RoleRef, Subject } from "../../../proto/gen/api.js";
import { type Causes, child, index } from "./field.js";

/**
 * Each rule names verbs and either resources (with their API groups) or non-resource URLs; a
 * namespaced Role may not name URLs, which only exist cluster-wide.
 */
export function validatePolicyRules(
  c: Causes,
  path: string,
  rules: readonly PolicyRule[] | undefined,
  namespaced: boolean,
): void {
  (rules ?? []).forEach((rule, i) => {
    const at = index(path, i);
    if (!rule.verbs?.length) c.required(child(at, "verbs"), "verbs must contain at least one value");
    const urls = rule.nonResourceURLs ?? [];
    if (urls.length) {
      if (namespaced)
        c.invalid(child(at, "nonResourceURLs"), urls, "namespaced rules cannot apply to non-resource URLs");
      if (rule.apiGroups?.length || rule.resources?.length) {
        c.invalid(
          child(at, "nonResourceURLs"),
          urls,
          "rules cannot apply to both regular resources and non-resource URLs",
        );
      }
      return;
    }
    if (!rule.apiGroups?.length)
      c.required(child(at, "apiGroups"), "resource rules must supply at least one api group");
    if (!rule.resources?.length)
      c.required(child(at, "resources"), "resource rules must supply at least one resource");
  });
}

const subjectKinds = ["User", "Group", "ServiceAccount"] as const;

export function validateSubjects(c: Causes, path: string, subjects: readonly Subject[] | undefined): void {
  (subjects ?? []).forEach((s, i) => {
    const at = index(path, i);
    if (!s.name) c.required(child(at, "name"));
    if (!subjectKinds.includes(s.kind as (typeof subjectKinds)[number])) {
      c.notSupported(child(at, "kind"), s.kind, subjectKinds);
    } else if (s.kind === "ServiceAccount") {
      if (s.apiGroup) c.notSupported(child(at, "apiGroup"), s.apiGroup, [""]);
      if (!s.namespace) c.required(child(at, "namespace"));
    } else if (s.apiGroup !== "rbac.authorization.k8s.io") {
      c.notSupported(child(at, "apiGroup"), s.apiGroup, ["rbac.authorization.k8s.io"]);
    }
  });
}

/** A binding refers to a Role (only from a RoleBinding) or a ClusterRole; the reference never changes. */
export function validateRoleRef(
  c: Causes,
  ref: RoleRef | undefined,
  kinds: readonly string[],
  old: RoleRef | undefined,
): void {
  if (ref?.apiGroup !== "rbac.authorization.k8s.io")
    c.notSupported("roleRef.apiGroup", ref?.apiGroup, ["rbac.authorization.k8s.io"]);
  if (!kinds.includes(ref?.kind ?? "")) c.notSupported("roleRef.kind", ref?.kind, kinds);
  if (!ref?.name) c.required("roleRef.name");
  if (old && (old.kind !== ref?.kind || old.name !== ref?.name || old.apiGroup !== ref?.apiGroup)) {
    c.invalid("roleRef", ref, "cannot change roleRef");
  }
}
