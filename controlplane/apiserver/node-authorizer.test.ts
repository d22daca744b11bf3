import { describe, expect, it } from "vitest";
import { definedFields } from "../../foundation/api/object.js";
import type { PersistentVolumeClaim, Pod } from "../../proto/gen/api.js";
import { byNodeNameIndex, podsByNodeName } from "../client/index.js";
import { ObjectCache } from "../client/object-cache.js";
import type { RequestAttributes } from "./authorization.js";
import { nodeAuthorizer } from "./node-authorizer.js";

type Meta = { metadata: { name: string; namespace?: string } };

const pods = new ObjectCache<Pod & Meta>({ [byNodeNameIndex]: podsByNodeName });
const claims = new ObjectCache<PersistentVolumeClaim & Meta>();
const pod = (name: string, nodeName: string, spec: Pod["spec"] = {}) =>
  pods.put({ metadata: { name, namespace: "team" }, spec: { nodeName, containers: [], ...spec } } as Pod &
    Meta);
pod("web", "n1", {
  containers: [{ name: "c", envFrom: [{ configMapRef: { name: "web-config" } }] }],
  volumes: [
    { name: "s", secret: { secretName: "web-tls" } },
    { name: "d", persistentVolumeClaim: { claimName: "data" } },
  ],
});
pod("db", "n2", { volumes: [{ name: "s", secret: { secretName: "db-password" } }] });
claims.put({
  metadata: { name: "data", namespace: "team" },
  spec: { volumeName: "pv-1" },
} as PersistentVolumeClaim & Meta);
claims.put({
  metadata: { name: "other", namespace: "team" },
  spec: { volumeName: "pv-2" },
} as PersistentVolumeClaim & Meta);

type ResourceAttributes = NonNullable<RequestAttributes["resource"]>;

const authorize = nodeAuthorizer({ pods, claims });
const asNode = (
  verb: string,
  resource: string,
  name?: string,
  // An undefined entry removes the default (namespace: undefined asks about a cluster-scoped object).
  extra: { [K in keyof ResourceAttributes]?: ResourceAttributes[K] | undefined } = {},
  user = "system:node:n1",
  groups = ["system:nodes", "system:authenticated"],
): RequestAttributes => ({
  user,
  groups,
  verb,
  resource: {
    apiGroup: "",
    resource,
    ...definedFields({ namespace: "team", ...(name ? { name } : {}), ...extra }),
  },
  path: "",
});

describe("the Node authorizer (a node's certificate on HTTPS)", () => {
  it("lets a node get the Secrets, ConfigMaps, claims and volumes its pods name", () => {
    for (const [resource, name] of [
      ["secrets", "web-tls"],
      ["configmaps", "web-config"],
      ["persistentvolumeclaims", "data"],
    ] as const) {
      expect(authorize(asNode("get", resource, name)), resource).toEqual({ allowed: true });
    }
    expect(authorize(asNode("get", "persistentvolumes", "pv-1", { namespace: undefined }))).toEqual({
      allowed: true,
    });
  });

  it("refuses what only another node's pods name, in upstream's words", () => {
    const reason = "no relationship found between node 'n1' and this object";
    expect(authorize(asNode("get", "secrets", "db-password"))).toEqual({ allowed: false, reason });
    expect(authorize(asNode("get", "persistentvolumes", "pv-2", { namespace: undefined }))).toEqual({
      allowed: false,
      reason,
    });
    // The same name in another namespace is another object.
    expect(authorize(asNode("get", "secrets", "web-tls", { namespace: "kube-system" }))).toEqual({
      allowed: false,
      reason,
    });
  });

  it("refuses listing, watching or writing those kinds, even ones its pods name", () => {
    const reason = "can only get individual resources of this type";
    expect(authorize(asNode("list", "secrets"))).toEqual({ allowed: false, reason });
    expect(authorize(asNode("watch", "configmaps"))).toEqual({ allowed: false, reason });
    expect(authorize(asNode("update", "secrets", "web-tls"))).toEqual({ allowed: false, reason });
    expect(authorize(asNode("delete", "configmaps", "web-config"))).toEqual({ allowed: false, reason });
  });

  it("lets a node read nodes, pods, services and endpoints, and write nothing over HTTPS", () => {
    for (const resource of ["nodes", "pods", "services", "endpoints"]) {
      for (const verb of ["get", "list", "watch"]) {
        expect(authorize(asNode(verb, resource, verb === "get" ? "x" : undefined)).allowed).toBe(true);
      }
    }
    expect(
      authorize(asNode("list", "endpointslices", undefined, { apiGroup: "discovery.k8s.io" })).allowed,
    ).toBe(true);
    for (const [verb, resource, subresource] of [
      ["update", "nodes", "status"],
      ["patch", "nodes", undefined],
      ["delete", "nodes", undefined],
      ["update", "pods", "status"],
      ["create", "pods", "exec"],
      ["get", "pods", "log"],
      ["create", "pods", undefined],
    ] as const) {
      expect(
        authorize(asNode(verb, resource, "n1", subresource ? { subresource } : {})).allowed,
        `${verb} ${resource}/${subresource ?? ""}`,
      ).toBe(false);
    }
  });

  it("has no opinion on anyone who is not a node, even with a node-like name", () => {
    expect(authorize(asNode("get", "pods", "x", {}, "jane", ["system:authenticated"]))).toEqual({
      allowed: false,
    });
    expect(
      authorize(asNode("get", "secrets", "web-tls", {}, "system:node:n1", ["system:authenticated"])),
    ).toEqual({
      allowed: false,
    });
  });
});
