/**
 * Upstream's Node authorizer on the HTTPS API. A node's client certificate (`system:node:<name>`
 * in `system:nodes`) may `get` the Secrets, ConfigMaps and PersistentVolumeClaims that pods bound
 * to it name, and the PersistentVolumes those claims are bound to; and it may get, list and watch
 * what every kubelet reads (nodes, pods, services, endpoints, endpointslices). It may write nothing
 * here: nodes write through NodeService, where node restriction checks what they write (labels,
 * pod IPs, whose status), so a stolen node certificate opens no write path those checks miss.
 * Requests from anyone else, and node requests outside these rules, are left to the next
 * authorizer (RBAC). Reads the informers' caches only, so a decision costs no I/O.
 */

import type { ReferencedKind } from "../../foundation/api/pod-references.js";
import { nodesGroup, nodeUserPrefix } from "../../foundation/bootstrap/node-names.js";
import { type NodeGraphListers, nodeRelationship } from "../client/index.js";
import type { Authorizer, RequestAttributes } from "./authorization.js";

/** Objects a node reads only when one of its pods needs them (upstream's graph), by resource. */
const graphKinds: Readonly<Record<string, ReferencedKind | "PersistentVolume">> = {
  secrets: "Secret",
  configmaps: "ConfigMap",
  persistentvolumeclaims: "PersistentVolumeClaim",
  persistentvolumes: "PersistentVolume",
};

/** What every kubelet reads, by `group/resource`. */
const readable = new Set(["/nodes", "/pods", "/services", "/endpoints", "discovery.k8s.io/endpointslices"]);
const readVerbs = new Set(["get", "list", "watch"]);

/** The node a request comes from, or undefined when the user is not a node. */
export function requestingNode(attrs: Pick<RequestAttributes, "user" | "groups">): string | undefined {
  if (!attrs.user.startsWith(nodeUserPrefix) || !attrs.groups.includes(nodesGroup)) return undefined;
  return attrs.user.slice(nodeUserPrefix.length) || undefined;
}

export function nodeAuthorizer(listers: NodeGraphListers): Authorizer {
  const related = nodeRelationship(listers);

  return (attrs) => {
    const node = requestingNode(attrs);
    const r = attrs.resource;
    if (!node || !r) return { allowed: false };
    const kind = r.apiGroup === "" && !r.subresource ? graphKinds[r.resource] : undefined;
    if (kind) {
      // As upstream: a node names the object it needs; listing or watching them all would leak the rest.
      if (attrs.verb !== "get" || !r.name) {
        return { allowed: false, reason: "can only get individual resources of this type" };
      }
      if (related(node, kind, r.namespace ?? "", r.name)) return { allowed: true };
      return { allowed: false, reason: `no relationship found between node '${node}' and this object` };
    }
    if (!r.subresource && readVerbs.has(attrs.verb) && readable.has(`${r.apiGroup}/${r.resource}`)) {
      return { allowed: true };
    }
    return { allowed: false };
  };
}
