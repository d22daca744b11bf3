/**
 * What the proto schema cannot say but clients need to know about the API's fields: which lists are
 * keyed (merged item by item by strategic merge patch and server-side apply, listed with
 * `x-kubernetes-patch-merge-key` and `x-kubernetes-list-map-keys` in OpenAPI) and which fields a
 * message requires. Values are upstream's (k8s.io/api, v1.32), for the fields kctl serves.
 */

/** How a list field merges, keyed by `Message.field` of proto/api.proto. */
export interface ListRule {
  /** "map": items are merged by `keys`; "set": scalar items are merged as a set. */
  type: "map" | "set";
  /** The keys of a map list; the first is the strategic-merge-patch merge key. */
  keys?: readonly string[];
}

export const listRules: Readonly<Record<string, ListRule>> = {
  "ObjectMeta.ownerReferences": { type: "map", keys: ["uid"] },
  "ObjectMeta.finalizers": { type: "set" },
  "PodSpec.volumes": { type: "map", keys: ["name"] },
  "PodSpec.containers": { type: "map", keys: ["name"] },
  "Container.ports": { type: "map", keys: ["containerPort", "protocol"] },
  "Container.env": { type: "map", keys: ["name"] },
  "Container.volumeMounts": { type: "map", keys: ["mountPath"] },
  "PodStatus.conditions": { type: "map", keys: ["type"] },
  "ReplicaSetStatus.conditions": { type: "map", keys: ["type"] },
  "DeploymentStatus.conditions": { type: "map", keys: ["type"] },
  "ServiceSpec.ports": { type: "map", keys: ["port", "protocol"] },
  "NodeStatus.conditions": { type: "map", keys: ["type"] },
  "NodeStatus.addresses": { type: "map", keys: ["type"] },
  "NodeSpec.taints": { type: "map", keys: ["key", "effect"] },
};

/**
 * Defaults of list-map keys, which upstream's schema declares so that an item that leaves its key
 * out (a port without `protocol`) is keyed as the server will store it (`protocol: TCP`).
 */
export const listKeyDefaults: Readonly<Record<string, unknown>> = { protocol: "TCP" };

/** Fields a message requires, keyed by message name (upstream's `+required` / non-omitempty fields). */
export const requiredFields: Readonly<Record<string, readonly string[]>> = {
  OwnerReference: ["apiVersion", "kind", "name", "uid"],
  LabelSelectorRequirement: ["key", "operator"],
  PodSpec: ["containers"],
  Container: ["name"],
  ContainerPort: ["containerPort"],
  EnvVar: ["name"],
  VolumeMount: ["name", "mountPath"],
  Volume: ["name"],
  KeyToPath: ["key", "path"],
  HostPathVolumeSource: ["path"],
  ConfigMapKeySelector: ["key"],
  SecretKeySelector: ["key"],
  ObjectFieldSelector: ["fieldPath"],
  HTTPHeader: ["name", "value"],
  HTTPGetAction: ["port"],
  TCPSocketAction: ["port"],
  SleepAction: ["seconds"],
  NodeSelector: ["nodeSelectorTerms"],
  NodeSelectorRequirement: ["key", "operator"],
  PreferredSchedulingTerm: ["weight", "preference"],
  PodAffinityTerm: ["topologyKey"],
  WeightedPodAffinityTerm: ["weight", "podAffinityTerm"],
  PodCondition: ["type", "status"],
  ContainerStatus: ["name", "ready", "restartCount", "image", "imageID"],
  ContainerStateTerminated: ["exitCode"],
  Binding: ["target"],
  ReplicaSetSpec: ["selector"],
  ReplicaSetStatus: ["replicas"],
  ReplicaSetCondition: ["type", "status"],
  DeploymentSpec: ["selector", "template"],
  DeploymentCondition: ["type", "status"],
  ScaleStatus: ["replicas"],
  ServicePort: ["port"],
  EndpointAddress: ["ip"],
  EndpointPort: ["port"],
  Taint: ["key", "effect"],
  NodeCondition: ["type", "status"],
  NodeAddress: ["type", "address"],
  Event: ["metadata", "involvedObject"],
};
