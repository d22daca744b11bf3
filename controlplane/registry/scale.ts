/**
 * The `/scale` subresource of Deployments and ReplicaSets: the autoscaling/v1 Scale view of an
 * object and how a Scale's replicas are written back into its spec.
 */

import {
  formatSelector,
  type LabelSelectorInput,
  selectorFromLabelSelector,
} from "../../foundation/api/labels.js";
import { definedFields, type KubeObject } from "../../foundation/api/object.js";
import type { Scale } from "../../proto/gen/api.js";

interface Scalable {
  spec?: { replicas?: number; selector?: LabelSelectorInput };
  status?: { replicas?: number };
}

export function toScale(obj: KubeObject): Scale {
  const { spec, status } = obj as unknown as Scalable;
  const m = obj.metadata;
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: definedFields({
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    }),
    spec: { replicas: spec?.replicas ?? 0 },
    status: {
      replicas: status?.replicas ?? 0,
      selector: spec?.selector ? formatSelector(selectorFromLabelSelector(spec.selector)) : "",
    },
  };
}

/** `obj` with spec.replicas set; a negative count is left for validation to refuse with its field path. */
export function withReplicas(obj: KubeObject, replicas: number): KubeObject {
  return { ...obj, spec: { ...(obj.spec as object), replicas } };
}
