/**
 * The local-path provisioner's rules, as k3s's local-path-provisioner: a default StorageClass
 * `local-path` whose volumes are directories on one node (`<node's storage dir>/pvc-<claim uid>`),
 * bound when a pod using the claim is scheduled (WaitForFirstConsumer), recorded in the PV as a
 * `local` source with node affinity to that node. The node agent makes, mounts and removes the
 * directory; the control plane alone writes the PV objects.
 */
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const localPathProvisioner = "kctl.io/local-path";
export const localPathClassName = "local-path";
export const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class";
/** Set on a claim by the scheduler: the node its WaitForFirstConsumer volume goes to. */
export const selectedNodeAnnotation = "volume.kubernetes.io/selected-node";
export const provisionedByAnnotation = "pv.kubernetes.io/provisioned-by";
/** Set on a Node by its agent at registration: the directory local-path volumes go under. */
export const localStorageDirAnnotation = "kctl.io/local-storage-dir";
export const hostnameLabel = "kubernetes.io/hostname";

/** The StorageClass created at control-plane start unless one of that name exists. */
export function localPathClass(): StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: localPathClassName, annotations: { [defaultClassAnnotation]: "true" } },
    provisioner: localPathProvisioner,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/** The PV name for a claim, as upstream's provisioners name theirs. */
export const volumeNameFor = (claim: DeepReadonly<PersistentVolumeClaim>): string =>
  `pvc-${claim.metadata.uid}`;

/**
 * The PV for `claim` on `node` (which must carry its storage dir annotation): the claim's request
 * as capacity, pre-bound to the claim by uid, reachable only from `node`.
 */
export function localVolumeFor(
  claim: DeepReadonly<PersistentVolumeClaim>,
  node: DeepReadonly<Node>,
  sc: DeepReadonly<StorageClass>,
): PersistentVolume {
  const dir = node.metadata.annotations?.[localStorageDirAnnotation] ?? "";
  const name = volumeNameFor(claim);
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { [provisionedByAnnotation]: localPathProvisioner } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? "0" },
      accessModes: [...(claim.spec?.accessModes ?? ["ReadWriteOnce"])],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name ?? "",
      volumeMode: "Filesystem",
      local: { path: `${dir}/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: hostnameLabel, operator: "In", values: [node.metadata.name ?? ""] }],
            },
          ],
        },
      },
      claimRef: {
        kind: "PersistentVolumeClaim",
        apiVersion: "v1",
        namespace: claim.metadata.namespace ?? "",
        name: claim.metadata.name ?? "",
        uid: claim.metadata.uid ?? "",
      },
    },
  };
}

/** The one node a PV's affinity names by hostname, if it names exactly one (local volumes do). */
export function volumeNode(pv: DeepReadonly<PersistentVolume>): string | undefined {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  const values = terms.flatMap((t) =>
    (t.matchExpressions ?? [])
      .filter((e) => e.key === hostnameLabel && e.operator === "In")
      .flatMap((e) => e.values ?? []),
  );
  return values.length === 1 ? values[0] : undefined;
}
