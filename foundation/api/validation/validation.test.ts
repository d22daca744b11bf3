import { describe, expect, it } from "vitest";
import { applyDefaults, validateObject } from "../../kinds/index.js";
import { decodeObject } from "../codec.js";
import { type FieldCause, isApiError } from "../errors.js";
import type { KubeObject } from "../object.js";
import { resourceForKind } from "../resources.js";

type Raw = Record<string, unknown>;

/** The apiserver's create path: decode, set the namespace, default, validate. */
function prepare(raw: Raw): KubeObject {
  const obj = decodeObject(raw);
  const info = resourceForKind(obj.apiVersion, obj.kind)!;
  if (info.namespaced) obj.metadata.namespace ??= "default";
  return applyDefaults(info, obj);
}

/** Causes from the whole pipeline: a decode error (422) counts like a validation result. */
function validate(raw: Raw, oldRaw?: Raw): FieldCause[] {
  let obj: KubeObject;
  try {
    obj = prepare(raw);
  } catch (err) {
    if (isApiError(err, "Invalid")) return err.details?.causes ?? [];
    throw err;
  }
  const old = oldRaw ? prepare(oldRaw) : undefined;
  return validateObject(resourceForKind(obj.apiVersion, obj.kind)!, obj, old);
}

const clone = <T>(v: T): T => structuredClone(v);

/** Applies `edit` to a deep copy of `base`. */
// biome-ignore lint/suspicious/noExplicitAny: edits reach into arbitrary nested fields of untyped manifests
function edited(base: Raw, edit: (o: any) => void): Raw {
  const copy = clone(base);
  edit(copy);
  return copy;
}

const pod: Raw = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-0", labels: { app: "web" } },
  spec: {
    containers: [
      {
        name: "httpd",
        image: "kctl.local/busybox:debian",
        ports: [{ name: "http", containerPort: 8080 }],
        resources: { requests: { cpu: "100m", memory: "16Mi" }, limits: { cpu: "500m", memory: "64Mi" } },
        readinessProbe: { httpGet: { path: "/", port: "http" } },
        volumeMounts: [{ name: "data", mountPath: "/data" }],
        env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
      },
    ],
    volumes: [{ name: "data", emptyDir: {} }],
  },
};

const deployment: Raw = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: clone(pod.spec) },
  },
};

const replicaSet: Raw = { ...clone(deployment), kind: "ReplicaSet", metadata: { name: "web-abc" } };

const service: Raw = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
};

const valid: [string, Raw][] = [
  ["pod", pod],
  ["deployment", deployment],
  ["replicaset", replicaSet],
  ["service", service],
  ["namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "demo" } }],
  [
    "configmap",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { "app.properties": "x" } },
  ],
  ["secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { password: "x" } }],
  [
    "pull secret",
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "pull" },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": '{"auths":{"10.0.0.1:5000":{"auth":"dTpw"}}}' },
    },
  ],
  ["pod with pull secrets", edited(pod, (o) => (o.spec.imagePullSecrets = [{ name: "pull" }]))],
  [
    "serviceaccount with pull secrets",
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "sa" },
      imagePullSecrets: [{ name: "pull" }],
    },
  ],
  [
    "node",
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-1" },
      spec: { podCIDR: "10.244.1.0/24", taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] },
      status: { capacity: { cpu: "4", memory: "8Gi" } },
    },
  ],
  [
    "lease",
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-1" },
      spec: { holderIdentity: "node-1", leaseDurationSeconds: 40 },
    },
  ],
  [
    "event",
    {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web-0.1" },
      involvedObject: { kind: "Pod", name: "web-0", namespace: "default" },
      reason: "Scheduled",
      type: "Normal",
      count: 1,
    },
  ],
  [
    "endpoints",
    {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web" },
      subsets: [{ addresses: [{ ip: "10.244.1.5" }], ports: [{ name: "http", port: 8080 }] }],
    },
  ],
  ["generateName", { ...clone(pod), metadata: { generateName: "web-" } }],
  [
    "loadbalancer service",
    {
      ...service,
      spec: {
        ...(service.spec as object),
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        internalTrafficPolicy: "Local",
        loadBalancerIP: "192.0.2.10",
        ipFamilies: ["IPv4"],
        ipFamilyPolicy: "SingleStack",
      },
    },
  ],
  [
    "externalname service",
    { ...service, spec: { type: "ExternalName", externalName: "db.example.com.", ports: [{ port: 5432 }] } },
  ],
];

describe("validateObject accepts valid objects", () => {
  it.each(valid)("%s", (_name, raw) => {
    expect(validate(raw)).toEqual([]);
  });
});

// Each row: an edit of a valid object and the cause it must produce (field, reason, message fragment).
const bad: [string, Raw, string, string, string][] = [
  // The "Bad input" list of issue 3.
  [
    "a name with capital letters",
    edited(pod, (o) => (o.metadata.name = "Web")),
    "metadata.name",
    "FieldValueInvalid",
    "lowercase RFC 1123 subdomain",
  ],
  [
    "a selector that does not match the template",
    edited(deployment, (o) => (o.spec.selector.matchLabels = { app: "other" })),
    "spec.template.metadata.labels",
    "FieldValueInvalid",
    "`selector` does not match template `labels`",
  ],
  [
    "a port of 70000",
    edited(deployment, (o) => (o.spec.template.spec.containers[0].ports[0].containerPort = 70000)),
    "spec.template.spec.containers[0].ports[0].containerPort",
    "FieldValueInvalid",
    "Invalid value: 70000: must be between 1 and 65535, inclusive",
  ],
  [
    "duplicate container names",
    edited(pod, (o) => o.spec.containers.push({ name: "httpd", image: "busybox" })),
    "spec.containers[1].name",
    "FieldValueDuplicate",
    'Duplicate value: "httpd"',
  ],
  [
    "an init container named like a container",
    edited(pod, (o) => (o.spec.initContainers = [{ name: "httpd", image: "busybox" }])),
    "spec.containers[0].name",
    "FieldValueDuplicate",
    'Duplicate value: "httpd"',
  ],
  [
    "negative replicas",
    edited(deployment, (o) => (o.spec.replicas = -1)),
    "spec.replicas",
    "FieldValueInvalid",
    "Invalid value: -1: must be greater than or equal to 0",
  ],
  [
    "a pod with no containers",
    edited(pod, (o) => (o.spec.containers = [])),
    "spec.containers",
    "FieldValueRequired",
    "a pod needs at least one container",
  ],
  [
    "a pod without a spec.containers field",
    edited(pod, (o) => delete o.spec.containers),
    "spec.containers",
    "FieldValueRequired",
    "Required value",
  ],
  // Metadata.
  [
    "no name",
    edited(pod, (o) => (o.metadata = {})),
    "metadata.name",
    "FieldValueRequired",
    "name or generateName",
  ],
  [
    "a bad generateName",
    edited(pod, (o) => (o.metadata = { generateName: "Web-" })),
    "metadata.generateName",
    "FieldValueInvalid",
    "RFC 1123",
  ],
  [
    "a 254-character name",
    edited(pod, (o) => (o.metadata.name = "a".repeat(254))),
    "metadata.name",
    "FieldValueInvalid",
    "no more than 253",
  ],
  [
    "a namespace name with a dot",
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "a.b" } },
    "metadata.name",
    "FieldValueInvalid",
    "RFC 1123 label",
  ],
  [
    "a Service name starting with a digit",
    edited(service, (o) => (o.metadata.name = "1web")),
    "metadata.name",
    "FieldValueInvalid",
    "DNS-1035",
  ],
  [
    "a bad label key",
    edited(pod, (o) => (o.metadata.labels = { "a b": "x" })),
    "metadata.labels",
    "FieldValueInvalid",
    "name part must consist",
  ],
  [
    "a bad label value",
    edited(pod, (o) => (o.metadata.labels = { app: "-x" })),
    "metadata.labels[app]",
    "FieldValueInvalid",
    "a valid label",
  ],
  [
    "a bad annotation key",
    edited(pod, (o) => (o.metadata.annotations = { "a/b/c": "x" })),
    "metadata.annotations",
    "FieldValueInvalid",
    "qualified name",
  ],
  [
    "annotations over 256 KiB",
    edited(pod, (o) => (o.metadata.annotations = { big: "x".repeat(256 * 1024) })),
    "metadata.annotations",
    "FieldValueTooLong",
    "may not be more than 262144 bytes",
  ],
  [
    "an at-most-one annotation that is neither true nor false",
    edited(pod, (o) => (o.metadata.annotations = { "kctl.io/at-most-one": "yes" })),
    "metadata.annotations[kctl.io/at-most-one]",
    "FieldValueNotSupported",
    'supported values: "true", "false"',
  ],
  [
    "an at-most-one annotation on a Deployment's pod template that is neither true nor false",
    edited(deployment, (o) => (o.spec.template.metadata.annotations = { "kctl.io/at-most-one": "True" })),
    "spec.template.metadata.annotations[kctl.io/at-most-one]",
    "FieldValueNotSupported",
    'supported values: "true", "false"',
  ],
  [
    "a namespace on a cluster-scoped kind",
    { apiVersion: "v1", kind: "Node", metadata: { name: "n", namespace: "default" } },
    "metadata.namespace",
    "FieldValueForbidden",
    "not allowed on this type",
  ],
  [
    "two controller owner references",
    edited(pod, (o) => {
      const ref = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "a", uid: "1", controller: true };
      o.metadata.ownerReferences = [ref, { ...ref, name: "b", uid: "2" }];
    }),
    "metadata.ownerReferences",
    "FieldValueInvalid",
    "Only one reference can have Controller set to true",
  ],
  // Containers.
  [
    "a container asking for a terminal",
    edited(pod, (o) => Object.assign(o.spec.containers[0], { stdin: true, stdinOnce: true, tty: true })),
    "spec.containers[0].tty",
    "FieldValueForbidden",
    "containers run without a terminal on this cluster",
  ],
  [
    "a missing image",
    edited(pod, (o) => delete o.spec.containers[0].image),
    "spec.containers[0].image",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "a bad container name",
    edited(pod, (o) => (o.spec.containers[0].name = "my_app")),
    "spec.containers[0].name",
    "FieldValueInvalid",
    "RFC 1123 label",
  ],
  [
    "port 0",
    edited(pod, (o) => (o.spec.containers[0].ports[0].containerPort = 0)),
    "spec.containers[0].ports[0].containerPort",
    "FieldValueInvalid",
    "between 1 and 65535",
  ],
  [
    "a bad protocol",
    edited(pod, (o) => (o.spec.containers[0].ports[0].protocol = "ICMP")),
    "spec.containers[0].ports[0].protocol",
    "FieldValueNotSupported",
    'supported values: "TCP", "UDP", "SCTP"',
  ],
  [
    "a bad port name",
    edited(pod, (o) => (o.spec.containers[0].ports[0].name = "HTTP")),
    "spec.containers[0].ports[0].name",
    "FieldValueInvalid",
    "alpha-numeric",
  ],
  [
    "a bad quantity",
    edited(pod, (o) => (o.spec.containers[0].resources.limits.memory = "64MB")),
    "spec.containers[0].resources.limits[memory]",
    "FieldValueInvalid",
    "quantities must match the regular expression",
  ],
  [
    "requests above limits",
    edited(pod, (o) => (o.spec.containers[0].resources.requests.cpu = "1")),
    "spec.containers[0].resources.requests[cpu]",
    "FieldValueInvalid",
    "must be less than or equal to cpu limit of 500m",
  ],
  [
    "a negative quantity",
    edited(pod, (o) => (o.spec.containers[0].resources.requests.memory = "-1Mi")),
    "spec.containers[0].resources.requests[memory]",
    "FieldValueInvalid",
    "must be greater than or equal to 0",
  ],
  [
    "an unsupported resource",
    edited(pod, (o) => (o.spec.containers[0].resources.limits["nvidia.com/gpu"] = "1")),
    "spec.containers[0].resources.limits",
    "FieldValueNotSupported",
    '"cpu", "memory", "ephemeral-storage"',
  ],
  [
    "a bad imagePullPolicy",
    edited(pod, (o) => (o.spec.containers[0].imagePullPolicy = "Sometimes")),
    "spec.containers[0].imagePullPolicy",
    "FieldValueNotSupported",
    '"Always", "IfNotPresent", "Never"',
  ],
  [
    "a bad env var name",
    edited(pod, (o) => (o.spec.containers[0].env = [{ name: "1X", value: "y" }])),
    "spec.containers[0].env[0].name",
    "FieldValueInvalid",
    "environment variable name",
  ],
  [
    "env value and valueFrom together",
    edited(pod, (o) => (o.spec.containers[0].env[0].value = "x")),
    "spec.containers[0].env[0].valueFrom",
    "FieldValueInvalid",
    "may not be specified when `value` is not empty",
  ],
  [
    "an unsupported fieldRef",
    edited(pod, (o) => (o.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath = "spec.dnsPolicy")),
    "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
    "FieldValueNotSupported",
    '"metadata.name"',
  ],
  [
    "a configMapKeyRef with a bad key",
    edited(
      pod,
      (o) => (o.spec.containers[0].env[0].valueFrom = { configMapKeyRef: { name: "c", key: "a b" } }),
    ),
    "spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
    "FieldValueInvalid",
    "valid config key",
  ],
  [
    "a secretKeyRef without a key",
    edited(pod, (o) => (o.spec.containers[0].env[0].valueFrom = { secretKeyRef: { name: "s" } })),
    "spec.containers[0].env[0].valueFrom.secretKeyRef.key",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "envFrom with both sources",
    edited(
      pod,
      (o) => (o.spec.containers[0].envFrom = [{ configMapRef: { name: "c" }, secretRef: { name: "s" } }]),
    ),
    "spec.containers[0].envFrom[0]",
    "FieldValueInvalid",
    "may not have more than one field",
  ],
  [
    "a probe with no handler",
    edited(pod, (o) => (o.spec.containers[0].livenessProbe = { periodSeconds: 5 })),
    "spec.containers[0].livenessProbe",
    "FieldValueRequired",
    "must specify a handler type",
  ],
  [
    "a probe with two handlers",
    edited(pod, (o) => (o.spec.containers[0].readinessProbe.tcpSocket = { port: 8080 })),
    "spec.containers[0].readinessProbe",
    "FieldValueForbidden",
    "may not specify more than 1 handler type",
  ],
  [
    "a liveness probe with successThreshold 2",
    edited(
      pod,
      (o) => (o.spec.containers[0].livenessProbe = { exec: { command: ["true"] }, successThreshold: 2 }),
    ),
    "spec.containers[0].livenessProbe.successThreshold",
    "FieldValueInvalid",
    "must be 1",
  ],
  [
    "a probe port of 0",
    edited(pod, (o) => (o.spec.containers[0].readinessProbe.httpGet.port = 0)),
    "spec.containers[0].readinessProbe.httpGet.port",
    "FieldValueInvalid",
    "between 1 and 65535",
  ],
  [
    "a preStop hook with no handler",
    edited(pod, (o) => (o.spec.containers[0].lifecycle = { preStop: {} })),
    "spec.containers[0].lifecycle.preStop",
    "FieldValueRequired",
    "must specify a handler type",
  ],
  [
    "a preStop sleep longer than the grace period",
    edited(pod, (o) => {
      o.spec.terminationGracePeriodSeconds = 5;
      o.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: 6 } } };
    }),
    "spec.containers[0].lifecycle.preStop.sleep.seconds",
    "FieldValueInvalid",
    "not more than terminationGracePeriodSeconds (5)",
  ],
  [
    "a postStart hook with two handlers",
    edited(
      pod,
      (o) =>
        (o.spec.containers[0].lifecycle = {
          postStart: { sleep: { seconds: 1 }, exec: { command: ["true"] } },
        }),
    ),
    "spec.containers[0].lifecycle.postStart",
    "FieldValueForbidden",
    "may not specify more than 1 handler type",
  ],
  // Volumes.
  [
    "a mount of a missing volume",
    edited(pod, (o) => (o.spec.containers[0].volumeMounts[0].name = "nope")),
    "spec.containers[0].volumeMounts[0].name",
    "FieldValueNotFound",
    'Not found: "nope"',
  ],
  [
    "duplicate volume names",
    edited(pod, (o) => o.spec.volumes.push({ name: "data", emptyDir: {} })),
    "spec.volumes[1].name",
    "FieldValueDuplicate",
    'Duplicate value: "data"',
  ],
  [
    "a volume with no source",
    edited(pod, (o) => (o.spec.volumes[0] = { name: "data" })),
    "spec.volumes[0]",
    "FieldValueRequired",
    "must specify a volume type",
  ],
  [
    "a volume with two sources",
    edited(pod, (o) => (o.spec.volumes[0].hostPath = { path: "/tmp" })),
    "spec.volumes[0].hostPath",
    "FieldValueForbidden",
    "may not specify more than 1 volume type",
  ],
  [
    "a projected item path with ..",
    edited(pod, (o) =>
      o.spec.volumes.push({ name: "cm", configMap: { name: "c", items: [{ key: "k", path: "../x" }] } }),
    ),
    "spec.volumes[1].configMap.items[0].path",
    "FieldValueInvalid",
    "must not contain '..'",
  ],
  // Pod-level fields.
  [
    "a bad restartPolicy",
    edited(pod, (o) => (o.spec.restartPolicy = "Sometimes")),
    "spec.restartPolicy",
    "FieldValueNotSupported",
    '"Always", "OnFailure", "Never"',
  ],
  [
    "an unsupported dnsPolicy",
    edited(pod, (o) => (o.spec.dnsPolicy = "None")),
    "spec.dnsPolicy",
    "FieldValueNotSupported",
    '"ClusterFirst"',
  ],
  [
    "a negative grace period",
    edited(pod, (o) => (o.spec.terminationGracePeriodSeconds = -1)),
    "spec.terminationGracePeriodSeconds",
    "FieldValueInvalid",
    "greater than or equal to 0",
  ],
  [
    "an Exists toleration with a value",
    edited(pod, (o) => (o.spec.tolerations = [{ key: "k", operator: "Exists", value: "v" }])),
    "spec.tolerations[0].operator",
    "FieldValueInvalid",
    "value must be empty",
  ],
  [
    "tolerationSeconds without NoExecute",
    edited(
      pod,
      (o) =>
        (o.spec.tolerations = [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }]),
    ),
    "spec.tolerations[0].effect",
    "FieldValueInvalid",
    "effect must be 'NoExecute'",
  ],
  [
    "an anti-affinity term without topologyKey",
    edited(
      pod,
      (o) =>
        (o.spec.affinity = {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: "web" } } },
            ],
          },
        }),
    ),
    "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
    "FieldValueRequired",
    "can not be empty",
  ],
  [
    "an affinity selector with a bad operator",
    edited(
      pod,
      (o) =>
        (o.spec.affinity = {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchExpressions: [{ key: "app", operator: "Is" }] },
              },
            ],
          },
        }),
    ),
    "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator",
    "FieldValueInvalid",
    'Unsupported value: "Is"',
  ],
  [
    "a preferred term with weight 0",
    edited(
      pod,
      (o) =>
        (o.spec.affinity = {
          nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }] },
        }),
    ),
    "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
    "FieldValueInvalid",
    "must be in the range 1-100",
  ],
  // Deployments and ReplicaSets.
  [
    "a Deployment without selector",
    edited(deployment, (o) => delete o.spec.selector),
    "spec.selector",
    "FieldValueRequired",
    "non-empty selector",
  ],
  [
    "a Deployment template with restartPolicy Never",
    edited(deployment, (o) => (o.spec.template.spec.restartPolicy = "Never")),
    "spec.template.spec.restartPolicy",
    "FieldValueNotSupported",
    'supported values: "Always"',
  ],
  [
    "maxSurge and maxUnavailable both 0",
    edited(deployment, (o) => (o.spec.strategy = { rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } })),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "FieldValueInvalid",
    "may not be 0 when `maxSurge` is 0",
  ],
  [
    "a bad percent",
    edited(deployment, (o) => (o.spec.strategy = { rollingUpdate: { maxSurge: "25 percent" } })),
    "spec.strategy.rollingUpdate.maxSurge",
    "FieldValueInvalid",
    "a valid percent string",
  ],
  [
    "maxUnavailable above 100%",
    edited(deployment, (o) => (o.spec.strategy = { rollingUpdate: { maxUnavailable: "150%" } })),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "FieldValueInvalid",
    "must not be greater than 100%",
  ],
  [
    "rollingUpdate with Recreate",
    edited(deployment, (o) => (o.spec.strategy = { type: "Recreate", rollingUpdate: { maxSurge: 1 } })),
    "spec.strategy.rollingUpdate",
    "FieldValueForbidden",
    "may not be specified when strategy `type` is 'Recreate'",
  ],
  [
    "a bad strategy type",
    edited(deployment, (o) => (o.spec.strategy = { type: "BlueGreen" })),
    "spec.strategy.type",
    "FieldValueNotSupported",
    '"RollingUpdate", "Recreate"',
  ],
  [
    "progressDeadlineSeconds not above minReadySeconds",
    edited(deployment, (o) => Object.assign(o.spec, { minReadySeconds: 30, progressDeadlineSeconds: 30 })),
    "spec.progressDeadlineSeconds",
    "FieldValueInvalid",
    "must be greater than minReadySeconds",
  ],
  [
    "a ReplicaSet whose selector misses the template",
    edited(
      replicaSet,
      (o) => (o.spec.selector = { matchExpressions: [{ key: "tier", operator: "Exists" }] }),
    ),
    "spec.template.metadata.labels",
    "FieldValueInvalid",
    "`selector` does not match template `labels`",
  ],
  [
    "a template with a bad container",
    edited(replicaSet, (o) => (o.spec.template.spec.containers[0].image = " busybox")),
    "spec.template.spec.containers[0].image",
    "FieldValueInvalid",
    "leading or trailing whitespace",
  ],
  // Services.
  [
    "unnamed ports when there are several",
    edited(service, (o) => (o.spec.ports = [{ port: 80 }, { port: 443 }])),
    "spec.ports[0].name",
    "FieldValueRequired",
    "more than one port",
  ],
  [
    "duplicate service port names",
    edited(service, (o) => o.spec.ports.push({ name: "http", port: 81 })),
    "spec.ports[1].name",
    "FieldValueDuplicate",
    'Duplicate value: "http"',
  ],
  [
    "a service port of 70000",
    edited(service, (o) => (o.spec.ports[0].port = 70000)),
    "spec.ports[0].port",
    "FieldValueInvalid",
    "between 1 and 65535",
  ],
  [
    "a bad targetPort name",
    edited(service, (o) => (o.spec.ports[0].targetPort = "web_port")),
    "spec.ports[0].targetPort",
    "FieldValueInvalid",
    "alpha-numeric",
  ],
  [
    "a targetPort of 0",
    edited(service, (o) => (o.spec.ports[0].targetPort = 0)),
    "spec.ports[0].targetPort",
    "FieldValueInvalid",
    "between 1 and 65535",
  ],
  [
    "a nodePort out of range",
    edited(service, (o) =>
      Object.assign(o.spec, { type: "NodePort", ports: [{ port: 80, nodePort: 8080 }] }),
    ),
    "spec.ports[0].nodePort",
    "FieldValueInvalid",
    "The range of valid ports is 30000-32767",
  ],
  [
    "a nodePort on a ClusterIP service",
    edited(service, (o) => (o.spec.ports[0].nodePort = 30080)),
    "spec.ports[0].nodePort",
    "FieldValueForbidden",
    "may not be used when `type` is 'ClusterIP'",
  ],
  [
    "an unsupported service type",
    edited(service, (o) => (o.spec.type = "Magic")),
    "spec.type",
    "FieldValueNotSupported",
    '"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"',
  ],
  [
    "a bad clusterIP",
    edited(service, (o) => (o.spec.clusterIP = "10.96.0.300")),
    "spec.clusterIP",
    "FieldValueInvalid",
    "valid IP address",
  ],
  [
    "a service without ports",
    edited(service, (o) => delete o.spec.ports),
    "spec.ports",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "a duplicate port and protocol",
    edited(service, (o) => o.spec.ports.push({ name: "again", port: 80 })),
    "spec.ports[1]",
    "FieldValueDuplicate",
    'Duplicate value: "80/TCP"',
  ],
  [
    "an ExternalName Service without externalName",
    edited(service, (o) => (o.spec.type = "ExternalName")),
    "spec.externalName",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "an ExternalName that is not a DNS name",
    edited(service, (o) => Object.assign(o.spec, { type: "ExternalName", externalName: "bad_name.example" })),
    "spec.externalName",
    "FieldValueInvalid",
    "RFC 1123 subdomain",
  ],
  [
    "an ExternalName Service with a clusterIP",
    edited(service, (o) =>
      Object.assign(o.spec, { type: "ExternalName", externalName: "example.com", clusterIP: "10.96.0.9" }),
    ),
    "spec.clusterIP",
    "FieldValueForbidden",
    "may not be set for ExternalName services",
  ],
  [
    "an IPv6 family on this IPv4 cluster",
    edited(service, (o) => (o.spec.ipFamilies = ["IPv6"])),
    "spec.ipFamilies[0]",
    "FieldValueInvalid",
    "not configured on this cluster",
  ],
  [
    "a dual-stack requirement",
    edited(service, (o) => (o.spec.ipFamilyPolicy = "RequireDualStack")),
    "spec.ipFamilyPolicy",
    "FieldValueInvalid",
    "not configured for dual-stack",
  ],
  [
    "an external traffic policy on a ClusterIP service",
    edited(service, (o) => (o.spec.externalTrafficPolicy = "Local")),
    "spec.externalTrafficPolicy",
    "FieldValueForbidden",
    "NodePort or LoadBalancer",
  ],
  [
    "an unknown internal traffic policy",
    edited(service, (o) => (o.spec.internalTrafficPolicy = "Nearby")),
    "spec.internalTrafficPolicy",
    "FieldValueNotSupported",
    '"Cluster", "Local"',
  ],
  [
    "a healthCheckNodePort with the Cluster policy",
    edited(service, (o) =>
      Object.assign(o.spec, {
        type: "LoadBalancer",
        externalTrafficPolicy: "Cluster",
        healthCheckNodePort: 30500,
      }),
    ),
    "spec.healthCheckNodePort",
    "FieldValueForbidden",
    "'Local'",
  ],
  [
    "a loadBalancerClass on a NodePort service",
    edited(service, (o) => Object.assign(o.spec, { type: "NodePort", loadBalancerClass: "example.com/lb" })),
    "spec.loadBalancerClass",
    "FieldValueForbidden",
    "'LoadBalancer'",
  ],
  [
    "a loadBalancerIP that is not an IPv4 address",
    edited(service, (o) => Object.assign(o.spec, { type: "LoadBalancer", loadBalancerIP: "fd00::5" })),
    "spec.loadBalancerIP",
    "FieldValueInvalid",
    "valid IPv4 address",
  ],
  [
    "allocateLoadBalancerNodePorts on a NodePort service",
    edited(service, (o) => Object.assign(o.spec, { type: "NodePort", allocateLoadBalancerNodePorts: false })),
    "spec.allocateLoadBalancerNodePorts",
    "FieldValueForbidden",
    "'LoadBalancer'",
  ],
  [
    "a headless LoadBalancer",
    edited(service, (o) => Object.assign(o.spec, { type: "LoadBalancer", clusterIP: "None" })),
    "spec.clusterIP",
    "FieldValueInvalid",
    "may not be 'None' for LoadBalancer services",
  ],
  // EndpointSlices.
  [
    "an EndpointSlice without addressType",
    { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s" } },
    "addressType",
    "FieldValueRequired",
    '"IPv4", "IPv6", "FQDN"',
  ],
  [
    "an EndpointSlice address that is not of its type",
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "s" },
      addressType: "IPv4",
      endpoints: [{ addresses: ["fd00::1"] }],
    },
    "endpoints[0].addresses[0]",
    "FieldValueInvalid",
    "must be a valid IPv4 address",
  ],
  [
    "an EndpointSlice endpoint without addresses",
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "s" },
      addressType: "IPv4",
      endpoints: [{ hostname: "a" }],
    },
    "endpoints[0].addresses",
    "FieldValueRequired",
    "at least 1 address",
  ],
  // ConfigMaps, Secrets and the rest.
  [
    "a bad configmap key",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { "a b": "x" } },
    "data",
    "FieldValueInvalid",
    "valid config key",
  ],
  [
    "a configmap over 1 MiB",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "x".repeat(1024 * 1024) } },
    "",
    "FieldValueTooLong",
    "may not be more than 1048576 bytes",
  ],
  [
    "a key in both data and binaryData",
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { a: "x" },
      binaryData: { a: "eA==" },
    },
    "binaryData[a]",
    "FieldValueDuplicate",
    'Duplicate value: "a"',
  ],
  [
    "a bad secret key",
    { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { "../x": "y" } },
    "data",
    "FieldValueInvalid",
    "valid config key",
  ],
  [
    "a TLS secret without its keys",
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "kubernetes.io/tls",
      stringData: { "tls.crt": "x" },
    },
    "data[tls.key]",
    "FieldValueRequired",
    "type kubernetes.io/tls needs it",
  ],
  [
    "a dockerconfigjson secret that is not JSON",
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": "hunter2 {" },
    },
    "data[.dockerconfigjson]",
    "FieldValueInvalid",
    '"<secret contents redacted>": must be valid JSON',
  ],
  [
    "a dockercfg secret holding a JSON array",
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "kubernetes.io/dockercfg",
      stringData: { ".dockercfg": "[]" },
    },
    "data[.dockercfg]",
    "FieldValueInvalid",
    "must be a JSON object",
  ],
  [
    "a pull secret in another namespace",
    edited(pod, (o) => (o.spec.imagePullSecrets = [{ name: "other/creds" }])),
    "spec.imagePullSecrets[0].name",
    "FieldValueInvalid",
    "RFC 1123 subdomain",
  ],
  [
    "a pull secret without a name",
    edited(pod, (o) => (o.spec.imagePullSecrets = [{ name: "ok" }, {}])),
    "spec.imagePullSecrets[1].name",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "a Deployment template's bad pull secret",
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { ...(pod.spec as Raw), imagePullSecrets: [{ name: "Creds" }] },
        },
      },
    },
    "spec.template.spec.imagePullSecrets[0].name",
    "FieldValueInvalid",
    "RFC 1123 subdomain",
  ],
  [
    "a ServiceAccount's bad pull secret",
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "sa" },
      imagePullSecrets: [{ name: "a/b" }],
    },
    "imagePullSecrets[0].name",
    "FieldValueInvalid",
    "RFC 1123 subdomain",
  ],
  [
    "a taint without effect",
    { apiVersion: "v1", kind: "Node", metadata: { name: "n" }, spec: { taints: [{ key: "k" }] } },
    "spec.taints[0].effect",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "a bad podCIDR",
    { apiVersion: "v1", kind: "Node", metadata: { name: "n" }, spec: { podCIDR: "10.244.1.0/33" } },
    "spec.podCIDR",
    "FieldValueInvalid",
    "valid CIDR",
  ],
  [
    "a lease duration of 0",
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "l" },
      spec: { leaseDurationSeconds: 0 },
    },
    "spec.leaseDurationSeconds",
    "FieldValueInvalid",
    "must be greater than 0",
  ],
  [
    "an event without involvedObject",
    { apiVersion: "v1", kind: "Event", metadata: { name: "e" }, type: "Normal" },
    "involvedObject",
    "FieldValueRequired",
    "Required value",
  ],
  [
    "an endpoint address that is not an IP",
    {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "e" },
      subsets: [{ addresses: [{ ip: "pod-1" }] }],
    },
    "subsets[0].addresses[0].ip",
    "FieldValueInvalid",
    "valid IP address",
  ],
];

describe("validateObject refuses bad input", () => {
  it.each(bad)("%s", (_name, raw, field, reason, message) => {
    const causes = validate(raw);
    const match = causes.find((c) => c.field === field && c.reason === reason);
    expect(match, JSON.stringify(causes, null, 2)).toBeDefined();
    expect(match!.message).toContain(message);
  });
});

describe("validateObject on update", () => {
  const stored = (raw: Raw): Raw =>
    edited(raw, (o) => Object.assign(o.metadata, { uid: "u-1", creationTimestamp: "2024-01-02T03:04:05Z" }));

  it.each<[string, Raw, Raw, string, string]>([
    [
      "a changed uid",
      stored(pod),
      edited(stored(pod), (o) => (o.metadata.uid = "u-2")),
      "metadata.uid",
      "field is immutable",
    ],
    [
      "a changed creationTimestamp",
      stored(pod),
      edited(stored(pod), (o) => (o.metadata.creationTimestamp = "2025-01-01T00:00:00Z")),
      "metadata.creationTimestamp",
      "field is immutable",
    ],
    [
      "a changed name",
      stored(pod),
      edited(stored(pod), (o) => (o.metadata.name = "web-1")),
      "metadata.name",
      "field is immutable",
    ],
    [
      "a changed Deployment selector",
      deployment,
      edited(deployment, (o) => {
        o.spec.selector.matchLabels.tier = "a";
        o.spec.template.metadata.labels.tier = "a";
      }),
      "spec.selector",
      "field is immutable",
    ],
    [
      "a changed ReplicaSet selector",
      replicaSet,
      edited(replicaSet, (o) => {
        o.spec.selector.matchLabels = { app: "web2" };
        o.spec.template.metadata.labels = { app: "web2" };
      }),
      "spec.selector",
      "field is immutable",
    ],
    [
      "a changed pod port",
      pod,
      edited(pod, (o) => (o.spec.containers[0].ports[0].containerPort = 9090)),
      "spec",
      "pod updates may not change fields",
    ],
    [
      "a removed toleration",
      edited(pod, (o) => (o.spec.tolerations = [{ key: "k", operator: "Exists" }])),
      pod,
      "spec.tolerations",
      "existing toleration can not be modified or removed",
    ],
    [
      "a raised activeDeadlineSeconds",
      edited(pod, (o) => (o.spec.activeDeadlineSeconds = 10)),
      edited(pod, (o) => (o.spec.activeDeadlineSeconds = 20)),
      "spec.activeDeadlineSeconds",
      "must be less than or equal to the previous value",
    ],
    [
      "a changed clusterIP",
      edited(service, (o) => (o.spec.clusterIP = "10.96.0.10")),
      edited(service, (o) => (o.spec.clusterIP = "10.96.0.11")),
      "spec.clusterIP",
      "field is immutable",
    ],
    [
      "changed data of an immutable ConfigMap",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, immutable: true, data: { a: "1" } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, immutable: true, data: { a: "2" } },
      "data",
      "field is immutable when `immutable` is set",
    ],
  ])("refuses %s", (_name, oldRaw, raw, field, message) => {
    const causes = validate(raw, oldRaw);
    const match = causes.find((c) => c.field === field);
    expect(match, JSON.stringify(causes, null, 2)).toBeDefined();
    expect(match!.message).toContain(message);
  });

  it.each<[string, Raw, Raw]>([
    ["a new image", pod, edited(pod, (o) => (o.spec.containers[0].image = "busybox:1.37"))],
    [
      "an added toleration",
      pod,
      edited(pod, (o) => (o.spec.tolerations = [{ key: "k", operator: "Exists" }])),
    ],
    [
      "a lowered activeDeadlineSeconds",
      edited(pod, (o) => (o.spec.activeDeadlineSeconds = 20)),
      edited(pod, (o) => (o.spec.activeDeadlineSeconds = 10)),
    ],
    ["new labels on a pod", stored(pod), edited(stored(pod), (o) => (o.metadata.labels.extra = "1"))],
    ["uid and creationTimestamp left out", stored(pod), pod],
    [
      "a Deployment scaled and re-imaged",
      deployment,
      edited(deployment, (o) => {
        o.spec.replicas = 5;
        o.spec.template.spec.containers[0].image = "busybox:1.37";
      }),
    ],
    ["a clusterIP left out", edited(service, (o) => (o.spec.clusterIP = "10.96.0.10")), service],
    ["a mutable ConfigMap changed", valid[5]![1], edited(valid[5]![1], (o) => (o.data = { b: "2" }))],
  ])("allows %s", (_name, oldRaw, raw) => {
    expect(validate(raw, oldRaw)).toEqual([]);
  });
});
