/**
 * Object validation, the apiserver's last check before a write: `validateObject` runs the metadata
 * checks every kind shares and then the kind's own rules, and on update the rules about what may not
 * change. It reports every problem as a FieldCause with its full path and never throws for bad
 * input; it never changes the object.
 *
 * One file per kind group: meta.ts (metadata), pod.ts (Pod and pod templates), apps.ts (ReplicaSet,
 * Deployment), service.ts (Service, Endpoints), config.ts (ConfigMap, Secret), cluster.ts (Node,
 * Lease, Event); field.ts holds the shared checks and the cause builders.
 */

import type {
  ConfigMap,
  Deployment,
  Endpoints,
  Event,
  Lease,
  Node,
  Pod,
  ReplicaSet,
  Secret,
  Service,
} from "../../../proto/gen/api.js";
import type { FieldCause } from "../errors.js";
import type { KubeObject } from "../object.js";
import type { ResourceInfo } from "../resources.js";
import { validateDeployment, validateReplicaSet, validateSelectorUpdate } from "./apps.js";
import { validateEvent, validateLease, validateNode } from "./cluster.js";
import { validateConfigMap, validateImmutableData, validateSecret } from "./config.js";
import { Causes } from "./field.js";
import { validateObjectMeta, validateObjectMetaUpdate } from "./meta.js";
import { validatePod, validatePodUpdate } from "./pod.js";
import { validateEndpoints, validateService, validateServiceUpdate } from "./service.js";

/**
 * Validates `obj`, a decoded and defaulted object of resource `info` (see `decodeObject` and
 * `applyDefaults`), whose metadata.namespace the apiserver has already set for namespaced kinds.
 * With `old` (the stored object) it also applies the update rules: name, namespace, uid and
 * creationTimestamp unchanged; Deployment/ReplicaSet spec.selector unchanged; Pod spec unchanged
 * except images, activeDeadlineSeconds and added tolerations; a set Service clusterIP unchanged;
 * immutable ConfigMaps/Secrets unchanged. A /status write should pass the object with the stored
 * spec already copied in, so only the status part can differ.
 *
 * Returns the causes, empty when valid. The caller turns a non-empty list into
 * `invalid(info.kind, name, causes, info.group)` (HTTP 422).
 */
export function validateObject(info: ResourceInfo, obj: KubeObject, old?: KubeObject): FieldCause[] {
  const c = new Causes();
  validateObjectMeta(c, info, obj.metadata);
  if (old) validateObjectMetaUpdate(c, obj.metadata, old.metadata);
  switch (info.kind) {
    case "Pod":
      validatePod(c, obj as unknown as Pod);
      if (old) validatePodUpdate(c, obj as unknown as Pod, old as unknown as Pod);
      break;
    case "ReplicaSet": {
      const rs = obj as unknown as ReplicaSet;
      validateReplicaSet(c, rs);
      if (old) validateSelectorUpdate(c, rs.spec?.selector, (old as unknown as ReplicaSet).spec?.selector);
      break;
    }
    case "Deployment": {
      const d = obj as unknown as Deployment;
      validateDeployment(c, d);
      if (old) validateSelectorUpdate(c, d.spec?.selector, (old as unknown as Deployment).spec?.selector);
      break;
    }
    case "Service":
      validateService(c, obj as unknown as Service);
      if (old) validateServiceUpdate(c, obj as unknown as Service, old as unknown as Service);
      break;
    case "Endpoints":
      validateEndpoints(c, obj as unknown as Endpoints);
      break;
    case "ConfigMap":
      validateConfigMap(c, obj as unknown as ConfigMap);
      if (old) validateImmutableData(c, obj as unknown as ConfigMap, old as unknown as ConfigMap);
      break;
    case "Secret":
      validateSecret(c, obj as unknown as Secret);
      if (old) validateImmutableData(c, obj as unknown as Secret, old as unknown as Secret);
      break;
    case "Node":
      validateNode(c, obj as unknown as Node);
      break;
    case "Lease":
      validateLease(c, obj as unknown as Lease);
      break;
    case "Event":
      validateEvent(c, obj as unknown as Event);
      break;
  }
  return c.list;
}

export { validateBinding, validateScale } from "./subresources.js";
