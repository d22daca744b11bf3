/**
 * Upstream's node graph: which Secrets, ConfigMaps, PersistentVolumeClaims and PersistentVolumes a
 * node may read, because a pod bound to it needs them. Answered from the shared informers' caches
 * (pods by node), so a decision costs no I/O; the HTTPS node authorizer and NodeService's reads
 * ask the same question here.
 */
import { podReferences, type ReferencedKind } from "../../foundation/api/pod-references.js";
import type { PersistentVolumeClaim, Pod } from "../../proto/gen/api.js";
import { byNodeNameIndex } from "./indexers.js";
import type { Lister } from "./object-cache.js";

export interface NodeGraphListers {
  /** Must carry the `byNodeName` index (indexers.ts). */
  pods: Lister<Pod & { metadata: { namespace?: string } }>;
  claims: Lister<PersistentVolumeClaim & { metadata: { namespace?: string; name?: string } }>;
}

/** Whether a pod bound to `node` refers to the object (a PV: through a claim bound to it). */
export type NodeRelationship = (
  node: string,
  kind: ReferencedKind | "PersistentVolume",
  namespace: string,
  name: string,
) => boolean;

export function nodeRelationship(listers: NodeGraphListers): NodeRelationship {
  const podsOn = (node: string) => listers.pods.byIndex(byNodeNameIndex, node);
  return (node, kind, namespace, name) => {
    if (kind !== "PersistentVolume") {
      return podsOn(node).some((p) => p.metadata.namespace === namespace && podReferences(p, kind).has(name));
    }
    return podsOn(node).some((p) =>
      [...podReferences(p, "PersistentVolumeClaim")].some(
        (claim) => listers.claims.get(`${p.metadata.namespace}/${claim}`)?.spec?.volumeName === name,
      ),
    );
  };
}
