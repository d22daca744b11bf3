import { describe, expect, it } from "vitest";
import type { Deployment, Pod, ReplicaSet, Secret, Service } from "../../proto/gen/api.js";
import { applyDefaults } from "../kinds/index.js";
import { decodeObject } from "./codec.js";
import { pullPolicyFor } from "./defaults.js";
import type { KubeObject } from "./object.js";
import { resourceForKind } from "./resources.js";

function defaulted<T>(raw: Record<string, unknown>): T {
  const obj = decodeObject(raw);
  const info = resourceForKind(obj.apiVersion, obj.kind)!;
  const once = applyDefaults(info, obj);
  const twice = applyDefaults(info, structuredClone(once) as KubeObject);
  expect(twice).toEqual(once);
  return once as unknown as T;
}

describe("applyDefaults", () => {
  it("fills Pod spec, container, probe and volume defaults", () => {
    const pod = defaulted<Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        initContainers: [{ name: "init", image: "kctl.local/busybox:debian" }],
        containers: [
          {
            name: "c",
            image: "nginx",
            ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }],
            env: [{ name: "N", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
            livenessProbe: { httpGet: { port: 80 } },
            readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 2 },
          },
        ],
        volumes: [
          { name: "cm", configMap: { name: "c" } },
          { name: "s", secret: { secretName: "s", defaultMode: 0o400 } },
        ],
      },
    });
    const spec = pod.spec!;
    expect(spec).toMatchObject({
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
    });
    expect(spec.initContainers![0]!.imagePullPolicy).toBe("IfNotPresent");
    const c = spec.containers![0]!;
    expect(c.imagePullPolicy).toBe("Always");
    expect(c.terminationMessagePath).toBe("/dev/termination-log");
    expect(c.terminationMessagePolicy).toBe("File");
    expect(c.ports).toEqual([
      { containerPort: 80, protocol: "TCP" },
      { containerPort: 53, protocol: "UDP" },
    ]);
    expect(c.env![0]!.valueFrom!.fieldRef).toEqual({ fieldPath: "metadata.name", apiVersion: "v1" });
    expect(c.livenessProbe).toEqual({
      httpGet: { port: 80, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(c.readinessProbe!.periodSeconds).toBe(2);
    expect(spec.volumes![0]!.configMap!.defaultMode).toBe(0o644);
    expect(spec.volumes![1]!.secret!.defaultMode).toBe(0o400);
  });

  it("requests what is limited when no request is given", () => {
    const pod = defaulted<Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [
          {
            name: "a",
            image: "i",
            resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "100m" } },
          },
          { name: "b", image: "i", resources: { requests: { cpu: "100m" } } },
        ],
      },
    });
    expect(pod.spec!.containers![0]!.resources).toEqual({
      limits: { cpu: "500m", memory: "64Mi" },
      requests: { cpu: "100m", memory: "64Mi" },
    });
    expect(pod.spec!.containers![1]!.resources).toEqual({ requests: { cpu: "100m" } });
  });

  it("keeps what the user set", () => {
    const pod = defaulted<Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 0,
        dnsPolicy: "Default",
        containers: [{ name: "c", image: "nginx", imagePullPolicy: "Never" }],
      },
    });
    expect(pod.spec).toMatchObject({
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 0,
      dnsPolicy: "Default",
    });
    expect(pod.spec!.containers![0]!.imagePullPolicy).toBe("Never");
  });

  it("defaults a Deployment and its template", () => {
    const d = defaulted<Deployment>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { template: { spec: { containers: [{ name: "c", image: "nginx:1.25" }] } } },
    });
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      minReadySeconds: 0,
    });
    expect(d.spec!.template!.spec!.restartPolicy).toBe("Always");
    expect(d.spec!.template!.spec!.containers![0]!.imagePullPolicy).toBe("IfNotPresent");
  });

  it("keeps a partial rollingUpdate and adds no rollingUpdate to Recreate", () => {
    const d = defaulted<Deployment>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { replicas: 0, strategy: { rollingUpdate: { maxSurge: 1 } } },
    });
    expect(d.spec!.replicas).toBe(0);
    expect(d.spec!.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: "25%" },
    });
    const r = defaulted<Deployment>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { strategy: { type: "Recreate" } },
    });
    expect(r.spec!.strategy).toEqual({ type: "Recreate" });
  });

  it("defaults ReplicaSet replicas", () => {
    const rs = defaulted<ReplicaSet>({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "r" },
      spec: {},
    });
    expect(rs.spec!.replicas).toBe(1);
  });

  it("defaults a Service: type, affinity, protocol and targetPort", () => {
    const svc = defaulted<Service>({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [{ port: 80 }, { port: 443, targetPort: "https" }] },
    });
    expect(svc.spec).toEqual({
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { port: 443, targetPort: "https", protocol: "TCP" },
      ],
      type: "ClusterIP",
      sessionAffinity: "None",
    });
    const sticky = defaulted<Service>({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { sessionAffinity: "ClientIP" },
    });
    expect(sticky.spec!.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
  });

  it("merges Secret stringData into base64 data and defaults the type", () => {
    const secret = defaulted<Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      data: { a: Buffer.from("old").toString("base64"), b: Buffer.from("kept").toString("base64") },
      stringData: { a: "new", c: "ünïcode" },
    });
    expect(secret.type).toBe("Opaque");
    expect(secret.stringData).toBeUndefined();
    const plain = Object.fromEntries(
      Object.entries(secret.data!).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    expect(plain).toEqual({ a: "new", b: "kept", c: "ünïcode" });
  });

  it("leaves kinds without defaults alone", () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } };
    expect(defaulted(cm)).toEqual(cm);
  });
});

describe("pullPolicyFor", () => {
  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    ["registry.k8s.io/busybox:1.27.2", "IfNotPresent"],
    ["localhost:5000/app", "Always"],
    ["localhost:5000/app:v1", "IfNotPresent"],
    ["busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"],
  ])("%s → %s", (image, policy) => {
    expect(pullPolicyFor(image)).toBe(policy);
  });
});

describe("Namespace defaults", () => {
  const namespaces = resourceForKind("v1", "Namespace")!;
  it("label every namespace with its own name, as upstream, over any other value", () => {
    const ns = applyDefaults(namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "shop", labels: { team: "a", "kubernetes.io/metadata.name": "other" } },
    } as KubeObject);
    expect(ns.metadata.labels).toEqual({ team: "a", "kubernetes.io/metadata.name": "shop" });
  });
});
