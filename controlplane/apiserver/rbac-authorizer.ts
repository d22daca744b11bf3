/**
 * RBAC as upstream evaluates it (plugin/pkg/auth/authorizer/rbac): a request is allowed when a
 * ClusterRoleBinding, or a RoleBinding in the request's namespace, names the user (by name, one of
 * its groups, or as `system:serviceaccount:<ns>:<name>`) and its role has a rule matching the verb,
 * API group, resource (with subresource) and name, or for other paths the URL. Nothing denies; a
 * request no rule allows is refused. Reads the informers' caches only, so a decision costs no I/O.
 */
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  Subject,
} from "../../proto/gen/api.js";
import type { DeepReadonly, Lister } from "../client/index.js";
import type { Authorizer, RequestAttributes } from "./authorization.js";

export interface RbacListers {
  roles: Lister<Role>;
  clusterRoles: Lister<ClusterRole>;
  roleBindings: Lister<RoleBinding>;
  clusterRoleBindings: Lister<ClusterRoleBinding>;
}

const serviceAccountPrefix = "system:serviceaccount:";

function subjectMatches(
  s: DeepReadonly<Subject>,
  user: string,
  groups: readonly string[],
  bindingNs: string,
): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user;
    case "Group":
      return groups.includes(s.name ?? "");
    case "ServiceAccount":
      return user === `${serviceAccountPrefix}${s.namespace || bindingNs}:${s.name}`;
    default:
      return false;
  }
}

const has = (list: readonly string[] | undefined, value: string) =>
  !!list && (list.includes("*") || list.includes(value));

/** Whether one rule allows the request (upstream's RuleAllows). */
export function ruleAllows(rule: DeepReadonly<PolicyRule>, attrs: RequestAttributes): boolean {
  if (!has(rule.verbs, attrs.verb)) return false;
  const r = attrs.resource;
  if (!r) {
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === "*" || u === attrs.path || (u.endsWith("*") && attrs.path.startsWith(u.slice(0, -1))),
    );
  }
  if (!has(rule.apiGroups, r.apiGroup)) return false;
  const resources = rule.resources ?? [];
  const combined = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const resourceOk =
    resources.includes("*") ||
    resources.includes(combined) ||
    (r.subresource !== undefined && resources.includes(`*/${r.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (r.name !== undefined && names.includes(r.name));
}

/** The rules that apply to a user in `namespace` (cluster-wide ones always), as SelfSubjectRulesReview lists them. */
export function rulesFor(
  listers: RbacListers,
  user: string,
  groups: readonly string[],
  namespace: string | undefined,
): DeepReadonly<PolicyRule>[] {
  const rules: DeepReadonly<PolicyRule>[] = [];
  for (const b of listers.clusterRoleBindings.list()) {
    if (b.roleRef?.kind !== "ClusterRole") continue;
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, groups, ""))) continue;
    rules.push(...(listers.clusterRoles.get(b.roleRef.name ?? "")?.rules ?? []));
  }
  if (!namespace) return rules;
  for (const b of listers.roleBindings.list()) {
    if (b.metadata.namespace !== namespace) continue;
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, groups, namespace))) continue;
    const name = b.roleRef?.name ?? "";
    const role =
      b.roleRef?.kind === "Role" ? listers.roles.get(`${namespace}/${name}`) : listers.clusterRoles.get(name);
    rules.push(...(role?.rules ?? []));
  }
  return rules;
}

export function rbacAuthorizer(listers: RbacListers): Authorizer {
  return (attrs) => {
    const rules = rulesFor(listers, attrs.user, attrs.groups, attrs.resource?.namespace);
    return rules.some((rule) => ruleAllows(rule, attrs)) ? { allowed: true } : { allowed: false };
  };
}
