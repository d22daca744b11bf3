import { describe, expect, it } from "vitest";
import { forbidden, type RequestAttributes } from "./authorization.js";
import { ruleAllows } from "./rbac-authorizer.js";

const attrs = (verb: string, resource?: RequestAttributes["resource"], path = ""): RequestAttributes => ({
  user: "jane",
  groups: ["system:authenticated"],
  verb,
  ...(resource ? { resource } : {}),
  path,
});

describe("RBAC rule matching (upstream's RuleAllows)", () => {
  const pods = { apiGroup: "", resource: "pods", namespace: "team" };
  it("matches verb, group and resource, with * as a wildcard", () => {
    expect(ruleAllows({ verbs: ["get"], apiGroups: [""], resources: ["pods"] }, attrs("get", pods))).toBe(
      true,
    );
    expect(ruleAllows({ verbs: ["get"], apiGroups: [""], resources: ["pods"] }, attrs("list", pods))).toBe(
      false,
    );
    expect(ruleAllows({ verbs: ["get"], apiGroups: ["apps"], resources: ["pods"] }, attrs("get", pods))).toBe(
      false,
    );
    expect(ruleAllows({ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, attrs("delete", pods))).toBe(
      true,
    );
  });

  it("needs the subresource named (pods/exec), or */exec; pods alone does not grant it", () => {
    const exec = { ...pods, subresource: "exec", name: "web" };
    expect(
      ruleAllows({ verbs: ["create"], apiGroups: [""], resources: ["pods"] }, attrs("create", exec)),
    ).toBe(false);
    expect(
      ruleAllows({ verbs: ["create"], apiGroups: [""], resources: ["pods/exec"] }, attrs("create", exec)),
    ).toBe(true);
    expect(
      ruleAllows({ verbs: ["create"], apiGroups: [""], resources: ["*/exec"] }, attrs("create", exec)),
    ).toBe(true);
  });

  it("limits to resourceNames, which never match a list or a create", () => {
    const rule = { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"], resourceNames: ["web"] };
    expect(ruleAllows(rule, attrs("get", { ...pods, name: "web" }))).toBe(true);
    expect(ruleAllows(rule, attrs("get", { ...pods, name: "db" }))).toBe(false);
    expect(ruleAllows(rule, attrs("list", pods))).toBe(false);
  });

  it("matches non-resource URLs exactly or by a trailing *", () => {
    const rule = { verbs: ["get"], nonResourceURLs: ["/healthz", "/apis/*"] };
    expect(ruleAllows(rule, attrs("get", undefined, "/healthz"))).toBe(true);
    expect(ruleAllows(rule, attrs("get", undefined, "/apis/apps/v1"))).toBe(true);
    expect(ruleAllows(rule, attrs("get", undefined, "/metrics"))).toBe(false);
    expect(
      ruleAllows({ verbs: ["get"], apiGroups: ["*"], resources: ["*"] }, attrs("get", undefined, "/metrics")),
    ).toBe(false);
  });
});

describe("403 wording", () => {
  it("is upstream's, for namespaced, named, grouped, subresource and path requests", () => {
    expect(forbidden(attrs("list", { apiGroup: "", resource: "pods", namespace: "y" })).message).toBe(
      'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "y"',
    );
    expect(
      forbidden(
        attrs("create", { apiGroup: "", resource: "pods", subresource: "exec", namespace: "y", name: "w" }),
      ).message,
    ).toBe(
      'pods "w" is forbidden: User "jane" cannot create resource "pods/exec" in API group "" in the namespace "y"',
    );
    expect(forbidden(attrs("list", { apiGroup: "apps", resource: "deployments" })).message).toBe(
      'deployments.apps is forbidden: User "jane" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    expect(forbidden(attrs("get", undefined, "/metrics")).message).toBe(
      'forbidden: User "jane" cannot get path "/metrics"',
    );
  });
});
