import { describe, expect, it } from "vitest";
import { ApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Endpoints, Pod, Service } from "../../../proto/gen/api.js";
import type { ApiObject } from "../../client/controller-client.js";
import type { EventHandler } from "../../client/index.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { pod as basePod, type PodOptions, t0, testNamespace } from "../testing/fixtures.js";
import { EndpointsController, endpointsResource, servicesResource } from "./controller.js";

const podsResource = resourceForKind("v1", "Pod")!;

function service(name: string, spec: Service["spec"] = {}, namespace = testNamespace): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { tier: "front" } },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }], ...spec },
  };
}

interface TestPodOptions extends Omit<PodOptions, "readySince"> {
  ready?: boolean;
  ip?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  namespace?: string;
}

/** A pod on node-1, Running and Ready with an IP unless told otherwise. */
function pod(name: string, o: TestPodOptions = {}): Pod {
  const { ready = true, ...rest } = o;
  const p = basePod(name, {
    node: "node-1",
    uid: `uid-${name}`,
    ...rest,
    ...(ready ? { readySince: t0 } : {}),
  });
  if (o.namespace) p.metadata!.namespace = o.namespace;
  if (o.ip !== undefined || o.phase !== "Pending") p.status!.podIP = o.ip ?? `10.244.1.${name.length}`;
  if (o.ip === "") delete p.status!.podIP;
  if (o.ports) p.spec!.containers![0]!.ports = o.ports;
  return p;
}

function setup() {
  const cluster = new FakeCluster({ autoFlush: true });
  const queued: string[] = [];
  const controller = new EndpointsController({
    services: cluster.lister<Service>(servicesResource),
    pods: cluster.lister<Pod>(podsResource),
    endpoints: cluster.lister<Endpoints>(endpointsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    queue: { add: (key) => void queued.push(key) },
  });
  const handlers = new Map<string, EventHandler<ApiObject>>([
    [podsResource.plural, controller.podHandler as EventHandler<ApiObject>],
    [servicesResource.plural, controller.serviceHandler as EventHandler<ApiObject>],
    [endpointsResource.plural, controller.endpointsHandler as EventHandler<ApiObject>],
  ]);
  for (const [plural, h] of handlers) {
    cluster.addHandler(
      plural === "pods" ? podsResource : plural === "services" ? servicesResource : endpointsResource,
      h,
    );
  }
  /** Stores objects as already existing and tells the controller, like an informer's initial list. */
  const add = (info: typeof podsResource, ...objs: ApiObject[]) => {
    cluster.seed(info, ...objs);
    for (const obj of objs)
      handlers.get(info.plural)?.onAdd?.(cluster.lister<ApiObject>(info).get(objectKey(obj))!);
  };
  const stored = (name: string) => cluster.stored<Endpoints>(endpointsResource, `${testNamespace}/${name}`);
  const takeQueued = () => [...new Set(queued.splice(0))].sort();
  return { cluster, controller, add, stored, takeQueued };
}

describe("endpoints controller sync", () => {
  it("lists ready pods as addresses and the others apart, with node and pod reference", async () => {
    const { controller, add, stored, cluster } = setup();
    add(servicesResource, service("web"));
    add(
      podsResource,
      pod("web-a", { labels: { app: "web" }, ip: "10.244.1.5" }),
      pod("web-b", { labels: { app: "web" }, ip: "10.244.2.7", node: "node-2" }),
      pod("web-c", { labels: { app: "web" }, ip: "10.244.1.9", ready: false }),
      pod("web-pending", { labels: { app: "web" }, phase: "Pending", ip: "" }),
      pod("web-done", { labels: { app: "web" }, phase: "Failed", ip: "10.244.1.10" }),
      pod("other", { labels: { app: "other" }, ip: "10.244.1.11" }),
      pod("web-elsewhere", { labels: { app: "web" }, ip: "10.244.1.12", namespace: "prod" }),
    );
    await controller.sync("default/web");
    expect(cluster.takeActions().map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual([
      "create endpoints web",
    ]);
    const ep = stored("web")!;
    expect(ep.metadata?.labels).toEqual({ tier: "front" });
    expect(ep.subsets).toEqual([
      {
        addresses: [
          {
            ip: "10.244.1.5",
            nodeName: "node-1",
            targetRef: { kind: "Pod", namespace: "default", name: "web-a", uid: "uid-web-a" },
          },
          {
            ip: "10.244.2.7",
            nodeName: "node-2",
            targetRef: { kind: "Pod", namespace: "default", name: "web-b", uid: "uid-web-b" },
          },
        ],
        notReadyAddresses: [
          {
            ip: "10.244.1.9",
            nodeName: "node-1",
            targetRef: { kind: "Pod", namespace: "default", name: "web-c", uid: "uid-web-c" },
          },
        ],
        ports: [{ port: 8080, protocol: "TCP" }],
      },
    ]);
  });

  it("resolves named target ports per pod and groups pods by the ports they serve", async () => {
    const { controller, add, stored } = setup();
    add(
      servicesResource,
      service("web", {
        ports: [
          { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
          { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
          { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
        ],
      }),
    );
    add(
      podsResource,
      pod("v1", {
        labels: { app: "web" },
        ip: "10.244.1.1",
        ports: [
          { name: "http", containerPort: 8080 },
          { name: "dns", containerPort: 5353, protocol: "UDP" },
        ],
      }),
      pod("v2", { labels: { app: "web" }, ip: "10.244.1.2", ports: [{ name: "http", containerPort: 8081 }] }),
      // "dns" over TCP is not the UDP port the Service names.
      pod("v3", { labels: { app: "web" }, ip: "10.244.1.3", ports: [{ name: "dns", containerPort: 53 }] }),
    );
    await controller.sync("default/web");
    const subsets = stored("web")!.subsets!;
    const summary = subsets.map((s) => ({
      ips: (s.addresses ?? []).map((a) => a.ip),
      ports: (s.ports ?? []).map((p) => `${p.name}:${p.port}/${p.protocol}`),
    }));
    expect(summary).toEqual([
      { ips: ["10.244.1.1"], ports: ["dns:5353/UDP", "http:8080/TCP", "metrics:9090/TCP"] },
      { ips: ["10.244.1.2"], ports: ["http:8081/TCP", "metrics:9090/TCP"] },
      { ips: ["10.244.1.3"], ports: ["metrics:9090/TCP"] },
    ]);
  });

  it("skips a pod that lacks the only named port", async () => {
    const { controller, add, stored } = setup();
    add(servicesResource, service("web", { ports: [{ port: 80, targetPort: "http", protocol: "TCP" }] }));
    add(
      podsResource,
      pod("with", { labels: { app: "web" }, ip: "10.244.1.1", ports: [{ name: "http", containerPort: 80 }] }),
      pod("without", { labels: { app: "web" }, ip: "10.244.1.2" }),
    );
    await controller.sync("default/web");
    expect(stored("web")!.subsets!.map((s) => s.addresses?.map((a) => a.ip))).toEqual([["10.244.1.1"]]);
  });

  it("drops a pod the moment its deletion begins, and writes only when the content changed", async () => {
    const { controller, add, stored, cluster, takeQueued } = setup();
    add(servicesResource, service("web"));
    add(
      podsResource,
      pod("a", { labels: { app: "web" }, ip: "10.244.1.1" }),
      pod("b", { labels: { app: "web" }, ip: "10.244.1.2" }),
    );
    await controller.sync("default/web");
    cluster.takeActions();
    await controller.sync("default/web");
    expect(cluster.takeActions()).toEqual([]);
    takeQueued();

    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.metadata!.deletionTimestamp = "2024-01-01T00:01:00Z";
    });
    expect(takeQueued()).toEqual(["default/web"]);
    await controller.sync("default/web");
    expect(cluster.takeActions().map((a) => a.verb)).toEqual(["update"]);
    expect(stored("web")!.subsets).toEqual([
      expect.objectContaining({ addresses: [expect.objectContaining({ ip: "10.244.1.2" })] }),
    ]);
    expect(stored("web")!.subsets![0]!.notReadyAddresses).toBeUndefined();
  });

  it("moves a pod to notReadyAddresses when it stops being Ready", async () => {
    const { controller, add, stored, cluster } = setup();
    add(servicesResource, service("web"));
    add(podsResource, pod("a", { labels: { app: "web" }, ip: "10.244.1.1" }));
    await controller.sync("default/web");
    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.status!.conditions = [{ type: "Ready", status: "False" }];
    });
    await controller.sync("default/web");
    const subset = stored("web")!.subsets![0]!;
    expect(subset.addresses).toBeUndefined();
    expect(subset.notReadyAddresses?.map((a) => a.ip)).toEqual(["10.244.1.1"]);
  });

  it("removes the Endpoints of a deleted Service and leaves selector-less Services alone", async () => {
    const { controller, add, cluster, stored } = setup();
    add(servicesResource, service("web"), service("manual", { selector: {} }));
    add(podsResource, pod("a", { labels: { app: "web" } }));
    const manual: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "manual", namespace: "default" },
      subsets: [{ addresses: [{ ip: "192.0.2.1" }], ports: [{ port: 5432, protocol: "TCP" }] }],
    };
    add(endpointsResource, manual as ApiObject);
    await controller.sync("default/web");
    await controller.sync("default/manual");
    expect(cluster.takeActions().map((a) => `${a.verb} ${a.name}`)).toEqual(["create web"]);
    expect(stored("manual")!.subsets).toEqual(manual.subsets);

    await cluster.client.delete(servicesResource, "default", "web");
    cluster.takeActions();
    await controller.sync("default/web");
    expect(cluster.takeActions().map((a) => `${a.verb} ${a.resource} ${a.name}`)).toEqual([
      "get services web",
      "delete endpoints web",
    ]);
    expect(stored("web")).toBeUndefined();
    await controller.sync("default/web");
  });

  it("lists every pod of a portless headless Service in one subset, and all of them when publishing not-ready ones", async () => {
    const { controller, add, stored } = setup();
    add(
      servicesResource,
      service("db", { clusterIP: "None", ports: [] }),
      service("peers", { publishNotReadyAddresses: true, selector: { app: "db" } }),
    );
    add(
      podsResource,
      pod("db-0", { labels: { app: "db" }, ip: "10.244.1.1" }),
      pod("db-1", { labels: { app: "db" }, ip: "10.244.1.2", ready: false }),
    );
    await controller.sync("default/db");
    expect(stored("db")!.subsets).toEqual([
      {
        addresses: [expect.objectContaining({ ip: "10.244.1.1" })],
        notReadyAddresses: [expect.objectContaining({ ip: "10.244.1.2" })],
      },
    ]);
    await controller.sync("default/peers");
    expect(stored("peers")!.subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["10.244.1.1", "10.244.1.2"]);
  });

  it("gives an address the pod's hostname only when the pod's subdomain names the Service", async () => {
    const { controller, add, stored } = setup();
    add(servicesResource, service("db", { clusterIP: "None", selector: { app: "db" } }));
    const named = (name: string, hostname: string, subdomain: string, ip: string) => {
      const p = pod(name, { labels: { app: "db" }, ip });
      p.spec!.hostname = hostname;
      p.spec!.subdomain = subdomain;
      return p;
    };
    add(
      podsResource,
      named("db-0", "db-0", "db", "10.244.1.1"),
      named("other", "other", "elsewhere", "10.244.1.2"),
      pod("plain", { labels: { app: "db" }, ip: "10.244.1.3" }),
    );
    await controller.sync("default/db");
    const addresses = stored("db")!.subsets![0]!.addresses!;
    expect(addresses.map((a) => [a.ip, a.hostname])).toEqual([
      ["10.244.1.1", "db-0"],
      ["10.244.1.2", undefined],
      ["10.244.1.3", undefined],
    ]);
  });

  it("records a warning for a failed write but not for a stale cache, and rethrows both", async () => {
    const { controller, add, cluster } = setup();
    add(servicesResource, service("web"));
    cluster.failNext("create", endpointsResource, new ApiError("Conflict", "stale"));
    await expect(controller.sync("default/web")).rejects.toThrow("stale");
    expect(cluster.events).toEqual([]);
    cluster.failNext("create", endpointsResource, new ApiError("Forbidden", "no"));
    await expect(controller.sync("default/web")).rejects.toThrow("no");
    expect(cluster.events.map((e) => `${e.type} ${e.reason} ${e.object}`)).toEqual([
      "Warning FailedToUpdateEndpoint default/web",
    ]);
  });
});

describe("endpoints controller handlers", () => {
  it("a pod change wakes only the Services selecting it before or after", () => {
    const { add, cluster, takeQueued } = setup();
    add(
      servicesResource,
      service("web"),
      service("api"),
      service("all", { selector: { tier: "x" } }),
      service("web-prod", { selector: { app: "web" } }, "prod"),
    );
    takeQueued();
    add(podsResource, pod("a", { labels: { app: "web", tier: "x" } }));
    expect(takeQueued()).toEqual(["default/all", "default/web"]);

    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.metadata!.labels = { app: "api" };
    });
    expect(takeQueued()).toEqual(["default/all", "default/api", "default/web"]);

    // Nothing an Endpoints shows changed: nobody is woken.
    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.metadata!.annotations = { note: "x" };
    });
    expect(takeQueued()).toEqual([]);

    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.status!.podIP = "10.244.9.9";
    });
    expect(takeQueued()).toEqual(["default/api"]);

    void cluster.client.delete(podsResource, "default", "a");
    expect(takeQueued()).toEqual(["default/api"]);
  });

  it("keeps the Endpoints of a Service its cache has not seen yet, asking the server first", async () => {
    const { add, controller, cluster, stored, takeQueued } = setup();
    // At a control plane's start its `kubernetes` Service and Endpoints are written together; the
    // Endpoints reach this cache, the Service not yet, as the leftover check runs.
    cluster.autoFlush = false;
    const kubernetes: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kubernetes", namespace: "default" },
      subsets: [{ addresses: [{ ip: "10.0.0.7" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }],
    };
    add(endpointsResource, kubernetes as ApiObject);
    await cluster.client.create(
      servicesResource,
      "default",
      service("kubernetes", { selector: {} }) as ApiObject,
    );
    controller.checkLeftovers();
    expect(takeQueued()).toEqual(["default/kubernetes"]);
    cluster.takeActions();
    await controller.sync("default/kubernetes");
    expect(cluster.takeActions().filter((a) => a.verb === "delete")).toEqual([]);
    expect(stored("kubernetes")!.subsets).toEqual(kubernetes.subsets);
    // A Service the server does not have either: its Endpoints go.
    await cluster.client.delete(servicesResource, "default", "kubernetes");
    cluster.flush();
    await controller.sync("default/kubernetes");
    expect(stored("kubernetes")).toBeUndefined();
  });

  it("a deleted Endpoints is queued for re-creation; leftovers of gone Services are found at start", () => {
    const { add, controller, cluster, takeQueued } = setup();
    add(servicesResource, service("web"));
    const orphan: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "gone", namespace: "default" },
    };
    const kept: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
    };
    add(endpointsResource, orphan as ApiObject, kept as ApiObject);
    takeQueued();
    controller.checkLeftovers();
    expect(takeQueued()).toEqual(["default/gone"]);
    void cluster.client.delete(endpointsResource, "default", "web");
    expect(takeQueued()).toEqual(["default/web"]);
  });
});
