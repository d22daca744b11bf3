/**
 * Index functions most controllers need, for `InformerOptions.indexers`: pods by the node they are
 * bound to, and any object by the uids of its owners (what a ReplicaSet or the garbage collector
 * asks: "which objects does this uid own?").
 */
import type { ObjectMeta, Pod } from "../../proto/gen/api.js";
import type { IndexFunc } from "./object-cache.js";

export const byNodeNameIndex = "byNodeName";
export const byOwnerUidIndex = "byOwnerUid";

/** Bound pods under their `spec.nodeName`; unbound pods under no value. */
export const podsByNodeName: IndexFunc<Pod> = (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []);

/** Objects under the uid of each of their ownerReferences. */
export const byOwnerUid: IndexFunc<{ metadata: ObjectMeta }> = (obj) =>
  (obj.metadata.ownerReferences ?? []).flatMap((ref) => (ref.uid ? [ref.uid] : []));
