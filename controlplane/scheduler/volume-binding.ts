/**
 * What the scheduler reads about a pod's claims (upstream's VolumeBinding plugin state): the
 * claims, their volumes and classes, and the local storage already given out on each node. The
 * filter (filters/volume-binding.ts) decides with it where a pod may go; after a node is chosen,
 * `claimsAwaitingNode` lists the WaitForFirstConsumer claims the binder must mark with
 * `volume.kubernetes.io/selected-node` before binding the pod, so the PV goes to the pod's node.
 */

import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "../../proto/gen/api.js";

export const selectedNodeAnnotation = "volume.kubernetes.io/selected-node";

export interface StorageLister {
  claim(namespace: string, name: string): DeepReadonly<PersistentVolumeClaim> | undefined;
  volume(name: string): DeepReadonly<PersistentVolume> | undefined;
  storageClass(name: string): DeepReadonly<StorageClass> | undefined;
  /** The class annotated `storageclass.kubernetes.io/is-default-class`, if any. */
  defaultClass(): DeepReadonly<StorageClass> | undefined;
  /** Bytes of storage already promised on `node`: its volumes' capacity plus claims selected onto it. */
  committedOn(node: string): number;
}

/** The claim names of the pod's volumes, in order. */
export function podClaimNames(pod: DeepReadonly<Pod>): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim?.claimName ? [v.persistentVolumeClaim.claimName] : [],
  );
}

/** True for a claim the scheduler binds: unbound, of a class that waits for its first consumer. */
export function waitsForConsumer(
  claim: DeepReadonly<PersistentVolumeClaim>,
  storage: StorageLister,
): boolean {
  if (claim.spec?.volumeName) return false;
  // A claim naming no class gets the default one from the PV controller; a pod made right after its
  // claim (a StatefulSet's) must not be judged before that lands.
  const name = claim.spec?.storageClassName;
  const sc = name === undefined ? storage.defaultClass() : name ? storage.storageClass(name) : undefined;
  return sc?.volumeBindingMode === "WaitForFirstConsumer";
}

/** The pod's claims that still need `volume.kubernetes.io/selected-node` set to `node`. */
export function claimsAwaitingNode(
  pod: DeepReadonly<Pod>,
  node: string,
  storage: StorageLister,
): DeepReadonly<PersistentVolumeClaim>[] {
  const ns = pod.metadata.namespace ?? "";
  return podClaimNames(pod)
    .map((name) => storage.claim(ns, name))
    .filter(
      (c): c is DeepReadonly<PersistentVolumeClaim> =>
        !!c && waitsForConsumer(c, storage) && c.metadata.annotations?.[selectedNodeAnnotation] !== node,
    );
}
