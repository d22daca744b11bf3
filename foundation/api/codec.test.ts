import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { kindMessages } from "../../proto/gen/api.js";
import { decodeMessage, decodeObject, isRfc3339 } from "./codec.js";
import { ApiError, type FieldCause, isApiError } from "./errors.js";
import { resourceForKind, resources } from "./resources.js";

function causesOf(raw: unknown): FieldCause[] {
  try {
    decodeObject(raw);
  } catch (err) {
    if (isApiError(err, "Invalid")) return err.details?.causes ?? [];
    throw err;
  }
  throw new Error("expected decodeObject to fail");
}

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "demo",
    uid: "6b1f0c1e-8f3a-4c59-9d1e-0a4f6f6f2b10",
    resourceVersion: "42",
    generation: 3,
    creationTimestamp: "2024-01-02T03:04:05Z",
    labels: { app: "web" },
    annotations: { "example.com/note": "x" },
  },
  spec: {
    replicas: 3,
    selector: {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["a"] }],
    },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
    template: {
      metadata: { labels: { app: "web", tier: "a" } },
      spec: {
        containers: [
          {
            name: "httpd",
            image: "kctl.local/busybox:debian",
            ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
            resources: { requests: { cpu: "500m", memory: "128Mi" }, limits: { memory: "1Gi", cpu: "1.5" } },
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
            livenessProbe: { tcpSocket: { port: 8080 } },
            env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
            lifecycle: { preStop: { exec: { command: ["sleep", "1"] } } },
          },
        ],
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" },
            ],
          },
        },
        tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 30 }],
      },
    },
  },
  status: {
    observedGeneration: 3,
    replicas: 3,
    conditions: [
      {
        type: "Available",
        status: "True",
        lastUpdateTime: "2024-01-02T03:04:05.123456Z",
        lastTransitionTime: "2024-01-02T05:04:05+02:00",
      },
    ],
  },
};

const roundTrips: [string, unknown][] = [
  ["a Deployment with intOrString, quantities, probes and timestamps", deployment],
  [
    "a Service with numeric and named targetPorts",
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: {
        type: "NodePort",
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80, targetPort: "http", nodePort: 30080 },
          { name: "alt", port: 81, targetPort: 8080, protocol: "UDP" },
        ],
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      },
    },
  ],
  [
    "a ConfigMap with data and binaryData",
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { "app.properties": "color=blue\n", LOG_LEVEL: "info" },
      binaryData: { blob: "AAEC" },
    },
  ],
  [
    "a Secret with data and stringData",
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "Opaque",
      data: { password: "czNjcjN0", empty: "" },
      stringData: { token: "plain" },
    },
  ],
  [
    "a Node with capacity and conditions",
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1" },
      spec: { podCIDR: "10.244.1.0/24", taints: [{ key: "k", effect: "NoSchedule" }] },
      status: {
        capacity: { cpu: "4", memory: "8Gi", pods: "110" },
        allocatable: { cpu: "3800m", memory: "7Gi" },
        conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2024-01-02T03:04:05Z" }],
        addresses: [{ type: "InternalIP", address: "10.0.0.2" }],
        nodeInfo: { kernelVersion: "6.1", architecture: "amd64" },
      },
    },
  ],
  [
    "a Pod with volumes, init containers and status",
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "p",
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u", controller: true },
        ],
      },
      spec: {
        initContainers: [{ name: "init", image: "busybox" }],
        containers: [{ name: "c", image: "busybox", volumeMounts: [{ name: "v", mountPath: "/v" }] }],
        volumes: [
          { name: "v", emptyDir: { sizeLimit: "10Mi" } },
          { name: "cm", configMap: { name: "c", items: [{ key: "k", path: "p" }] } },
          { name: "s", secret: { secretName: "s", defaultMode: 420 } },
          { name: "h", hostPath: { path: "/tmp", type: "Directory" } },
        ],
        nodeName: "n1",
      },
      status: {
        phase: "Running",
        podIP: "10.244.1.5",
        startTime: "2024-01-02T03:04:05Z",
        containerStatuses: [
          {
            name: "c",
            ready: true,
            restartCount: 1,
            state: { running: { startedAt: "2024-01-02T03:04:06Z" } },
            lastState: {
              terminated: { exitCode: 137, reason: "OOMKilled", finishedAt: "2024-01-02T03:04:05Z" },
            },
          },
        ],
      },
    },
  ],
  [
    "a Lease with microsecond timestamps",
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "n1", namespace: "kube-node-lease" },
      spec: { holderIdentity: "n1", leaseDurationSeconds: 40, renewTime: "2024-01-02T03:04:05.000000Z" },
    },
  ],
];

describe("decodeObject round trips", () => {
  it.each(roundTrips)("%s survives decode unchanged", (_name, raw) => {
    const before = JSON.stringify(raw);
    const decoded = decodeObject(raw);
    expect(JSON.stringify(decoded)).toBe(before);
    expect(JSON.stringify(raw)).toBe(before);
  });

  it("keeps intOrString values as written", () => {
    const d = decodeObject(deployment) as typeof deployment;
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: "25%", maxUnavailable: 1 });
  });

  it("turns numeric quantities into strings and drops nulls", () => {
    const pod = decodeObject({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", labels: null },
      spec: { containers: [{ name: "c", image: "i", resources: { limits: { cpu: 2, memory: 1e9 } } }] },
      status: null,
    });
    expect(pod).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [{ name: "c", image: "i", resources: { limits: { cpu: "2", memory: "1000000000" } } }],
      },
    });
  });

  it("reads Kubernetes YAML, flow style included", () => {
    const raw = parse(
      `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "x",}, data: {special.how: "very",},}`,
    );
    expect(decodeObject(raw)).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x" },
      data: { "special.how": "very" },
    });
  });

  it("keeps a __proto__ map key as data, not as a prototype", () => {
    const cm = decodeObject(
      JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"__proto__":"x"}}'),
    );
    const data = cm.data as Record<string, string>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.keys(data)).toEqual(["__proto__"]);
    expect(JSON.stringify(cm.data)).toBe('{"__proto__":"x"}');
  });

  it("adds an empty metadata when none is given", () => {
    expect(decodeObject({ apiVersion: "v1", kind: "Namespace" }).metadata).toEqual({});
  });
});

describe("decodeObject errors", () => {
  const pod = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "i", ...container }], ...extra },
  });
  const deploymentWithPort = (port: unknown) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { template: { spec: { containers: [{ name: "c", ports: [{ containerPort: port }] }] } } },
  });

  it.each<[string, unknown, FieldCause]>([
    [
      "a string where an int is expected",
      deploymentWithPort("80"),
      {
        field: "spec.template.spec.containers[0].ports[0].containerPort",
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "80": expected an integer (int32), got string',
      },
    ],
    [
      "a fraction where an int is expected",
      deploymentWithPort(80.5),
      {
        field: "spec.template.spec.containers[0].ports[0].containerPort",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: 80.5: expected an integer (int32), got number",
      },
    ],
    [
      "an int32 overflow",
      deploymentWithPort(2 ** 31),
      {
        field: "spec.template.spec.containers[0].ports[0].containerPort",
        reason: "FieldValueInvalid",
        message: "Invalid value: 2147483648: out of range for int32 (-2147483648 to 2147483647)",
      },
    ],
    [
      "an unknown field",
      pod({ securityContext: { privileged: true, seccompProfile: { type: "Unconfined" }, sysctls: [] } }),
      {
        field: "spec.containers[0].securityContext.sysctls",
        reason: "FieldValueNotSupported",
        message: 'unknown field "sysctls": not part of the schema this API server supports',
      },
    ],
    [
      "a miscased field",
      pod({ ImagePullPolicy: "Always" }),
      {
        field: "spec.containers[0].ImagePullPolicy",
        reason: "FieldValueNotSupported",
        message: 'unknown field "ImagePullPolicy" (did you mean "imagePullPolicy"?)',
      },
    ],
    [
      "a bad intOrString",
      pod({ livenessProbe: { tcpSocket: { port: 1.5 } } }),
      {
        field: "spec.containers[0].livenessProbe.tcpSocket.port",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: 1.5: expected an integer or a string, got number",
      },
    ],
    [
      "a bad quantity",
      pod({ resources: { limits: { memory: "12Mb" } } }),
      {
        field: "spec.containers[0].resources.limits[memory]",
        reason: "FieldValueInvalid",
        message:
          "Invalid value: \"12Mb\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      },
    ],
    [
      "a quantity of the wrong type",
      pod({ resources: { limits: { memory: true } } }),
      {
        field: "spec.containers[0].resources.limits[memory]",
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: true: expected a quantity string such as "500m" or "128Mi", got boolean',
      },
    ],
    [
      "a non-string label value",
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "n", labels: { version: 1 } } },
      {
        field: "metadata.labels[version]",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: 1: expected a string, got number",
      },
    ],
    [
      "a null map value",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: null } },
      {
        field: "data[a]",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: null: expected a string, got null",
      },
    ],
    [
      "a bad timestamp",
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "n", creationTimestamp: "yesterday" } },
      {
        field: "metadata.creationTimestamp",
        reason: "FieldValueInvalid",
        message: 'Invalid value: "yesterday": must be an RFC 3339 timestamp such as "2006-01-02T15:04:05Z"',
      },
    ],
    [
      "secret data that is not base64",
      { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { password: "s3cr3t!" } },
      {
        field: "data[password]",
        reason: "FieldValueInvalid",
        message: 'Invalid value: "s3cr3t!": must be base64-encoded (standard alphabet, with padding)',
      },
    ],
    [
      "a scalar where a list is expected",
      pod({ command: "sleep 1" }),
      {
        field: "spec.containers[0].command",
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "sleep 1": expected an array, got string',
      },
    ],
    [
      "a list where an object is expected",
      pod({}, { nodeSelector: ["a"] }),
      {
        field: "spec.nodeSelector",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: [...]: expected an object (map), got array",
      },
    ],
    [
      "a null list element",
      pod({ args: ["a", null] }),
      {
        field: "spec.containers[0].args[1]",
        reason: "FieldValueTypeInvalid",
        message: "Invalid value: null: expected a string, got null",
      },
    ],
    [
      "a string where an object is expected",
      pod({ resources: "big" }),
      {
        field: "spec.containers[0].resources",
        reason: "FieldValueTypeInvalid",
        message: 'Invalid value: "big": expected an object, got string',
      },
    ],
  ])("reports %s with its path", (_name, raw, cause) => {
    expect(causesOf(raw)).toEqual([cause]);
  });

  it("reports every problem at once, in a 422 naming the object", () => {
    const err = errorOf(() =>
      decodeObject({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", colour: "red" },
        spec: {
          replicas: "3",
          template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "80" }] }] } },
        },
      }),
    );
    expect(err.reason).toBe("Invalid");
    expect(err.code).toBe(422);
    expect(err.details?.causes?.map((c) => c.field)).toEqual([
      "metadata.colour",
      "spec.replicas",
      "spec.template.spec.containers[0].ports[0].containerPort",
    ]);
    expect(err.message).toMatch(/^Deployment\.apps "web" is invalid: metadata\.colour: unknown field/);
  });

  it.each([
    [
      { apiVersion: "v1", kind: "Widget", metadata: { name: "w" } },
      'no matches for kind "Widget" in version "v1"',
    ],
    [{ apiVersion: "v2", kind: "Pod" }, 'no matches for kind "Pod" in version "v2"'],
    [{ apiVersion: "v1", metadata: { name: "w" } }, "Object 'Kind' is missing"],
    [{ kind: "Pod" }, "Object 'apiVersion' is missing"],
    [{ apiVersion: "v1", kind: 3 }, "Object 'Kind' is missing or not a string"],
    [["a"], "an object must be a JSON/YAML mapping, got array"],
    ["text", "an object must be a JSON/YAML mapping, got string"],
  ])("refuses %j as a bad request", (raw, message) => {
    const err = errorOf(() => decodeObject(raw));
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toContain(message);
  });

  it("takes apiVersion and kind from the expected resource and refuses another", () => {
    const pods = resourceForKind("v1", "Pod")!;
    expect(decodeObject({ metadata: { name: "p" } }, pods)).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
    });
    const err = errorOf(() => decodeObject({ apiVersion: "v1", kind: "Service" }, pods));
    expect(err.reason).toBe("BadRequest");
    expect(err.message).toContain("v1/Service does not match the expected v1/Pod");
  });
});

describe("decodeMessage", () => {
  it("decodes request bodies that are not resources", () => {
    expect(
      decodeMessage("DeleteOptions", {
        kind: "DeleteOptions",
        apiVersion: "v1",
        gracePeriodSeconds: 0,
        preconditions: { resourceVersion: "5" },
        propagationPolicy: "Foreground",
      }),
    ).toEqual({
      kind: "DeleteOptions",
      apiVersion: "v1",
      gracePeriodSeconds: 0,
      preconditions: { resourceVersion: "5" },
      propagationPolicy: "Foreground",
    });
    expect(() => decodeMessage("Binding", { target: { name: 3 } })).toThrow("target.name: Invalid value: 3");
    expect(() => decodeMessage("Scale", "x")).toThrow("expected an object");
  });
});

describe("schema coverage", () => {
  it("has a message for every served resource, and every kind message is served or a body", () => {
    for (const info of resources) expect(kindMessages).toContain(info.message.replace("kctl.api.", ""));
    const bodies = ["Binding", "Scale", "TokenRequest", "HorizontalPodAutoscalerV1", "Eviction"];
    for (const kind of kindMessages) {
      expect(bodies.includes(kind) || resources.some((r) => r.kind === kind)).toBe(true);
    }
  });
});

describe("isRfc3339", () => {
  it.each([
    ["2024-01-02T03:04:05Z", true],
    ["2024-01-02T03:04:05.123456789Z", true],
    ["2024-01-02T03:04:05-07:00", true],
    ["2024-02-29T00:00:00Z", true],
    ["2023-02-29T00:00:00Z", false],
    ["2000-02-29T00:00:00Z", true],
    ["1900-02-29T00:00:00Z", false],
    ["2024-04-31T00:00:00Z", false],
    ["2024-12-31T23:59:59Z", true],
    ["2024-00-10T00:00:00Z", false],
    ["2024-01-00T00:00:00Z", false],
    ["2024-01-02T03:60:00Z", false],
    ["2024-01-02T03:04:60Z", false],
    ["2024-13-01T00:00:00Z", false],
    ["2024-01-02T24:00:00Z", false],
    ["2024-01-02 03:04:05Z", false],
    ["2024-01-02T03:04:05", false],
    ["2024-01-02", false],
  ])("%s → %s", (text, ok) => {
    expect(isRfc3339(text)).toBe(ok);
  });
});
