/**
 * Controller references (metav1's GetControllerOf and NewControllerRef): the one owner marked
 * `controller: true` that manages an object, and the reference a controller puts on what it makes.
 */
import type { OwnerReference } from "../../proto/gen/api.js";
import type { ApiObject } from "./object.js";
import type { DeepReadonly } from "./readonly.js";

/** The reference marked `controller: true`, if any: the one owner that manages the object. */
export function controllerRefOf(obj: DeepReadonly<ApiObject>): DeepReadonly<OwnerReference> | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/**
 * The reference a controller puts on what it creates or adopts. `blockOwnerDeletion` makes a
 * foreground delete of the owner wait for the child.
 */
export function newControllerRef(owner: DeepReadonly<ApiObject>): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}
