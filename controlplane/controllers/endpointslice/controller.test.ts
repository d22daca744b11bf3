import { describe, expect, it } from "vitest";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { EndpointSlice, Pod, Service } from "../../../proto/gen/api.js";
import type { ApiObject } from "../../client/controller-client.js";
import type { EventHandler } from "../../client/index.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { pod as basePod, t0, testNamespace } from "../testing/fixtures.js";
import { EndpointSliceController, endpointSlicesResource, servicesResource } from "./controller.js";
import { controllerName, managedByLabel, serviceNameLabel } from "./plan.js";

const podsResource = resourceForKind("v1", "Pod")!;

function service(name: string, spec: Service["spec"] = {}): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: testNamespace, uid: `uid-svc-${name}`, labels: { tier: "front" } },
    spec: {
      selector: { app: name },
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
      ...spec,
    },
  };
}

interface TestPod {
  ready?: boolean;
  deleting?: boolean;
  node?: string;
  hostname?: string;
  subdomain?: string;
  app?: string;
}

function pod(name: string, ip: string, o: TestPod = {}): Pod {
  const p = basePod(name, {
    node: o.node ?? "node-1",
    uid: `uid-${name}`,
    labels: { app: o.app ?? "web" },
    ...(o.ready === false ? {} : { readySince: t0 }),
    ...(o.deleting ? { deleting: true } : {}),
  });
  p.status!.podIP = ip;
  if (o.hostname) p.spec!.hostname = o.hostname;
  if (o.subdomain) p.spec!.subdomain = o.subdomain;
  return p;
}

function setup() {
  const cluster = new FakeCluster({ autoFlush: true });
  const controller = new EndpointSliceController({
    services: cluster.lister<Service>(servicesResource),
    pods: cluster.lister<Pod>(podsResource),
    slices: cluster.lister<EndpointSlice>(endpointSlicesResource),
    client: cluster.client,
    recorder: cluster.recorder,
    queue: { add: () => {} },
  });
  const handlers = new Map<string, EventHandler<ApiObject>>([
    [podsResource.plural, controller.podHandler as EventHandler<ApiObject>],
    [servicesResource.plural, controller.serviceHandler as EventHandler<ApiObject>],
  ]);
  const add = (info: typeof podsResource, ...objs: ApiObject[]) => {
    cluster.seed(info, ...objs);
    for (const obj of objs)
      handlers.get(info.plural)?.onAdd?.(cluster.lister<ApiObject>(info).get(objectKey(obj))!);
  };
  const slices = () =>
    cluster
      .storedList<EndpointSlice>(endpointSlicesResource)
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  /** The actions of the last sync, as "verb name". */
  const actions = () => cluster.takeActions().map((a) => `${a.verb} ${a.name}`);
  return { cluster, controller, add, slices, actions };
}

describe("EndpointSlice controller sync", () => {
  it("lists every pod with its conditions, node, hostname and ports, labelled and owned by the Service", async () => {
    const { controller, add, slices, actions } = setup();
    add(servicesResource, service("web", { clusterIP: "None" }));
    add(
      podsResource,
      pod("web-0", "10.244.1.1", { hostname: "web-0", subdomain: "web" }),
      pod("web-1", "10.244.2.1", { ready: false, node: "node-2" }),
      pod("web-2", "10.244.1.2", { deleting: true }),
      pod("other", "10.244.1.9", { app: "other" }),
    );
    await controller.sync("default/web");
    expect(actions()).toEqual([expect.stringMatching(/^create web-[b-z2-9]{5}$/)]);
    const [slice] = slices();
    expect(slice!.metadata.labels).toEqual({
      tier: "front",
      [serviceNameLabel]: "web",
      [managedByLabel]: controllerName,
      "service.kubernetes.io/headless": "",
    });
    expect(slice!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Service", name: "web", uid: "uid-svc-web", controller: true }),
    ]);
    expect(slice!.addressType).toBe("IPv4");
    expect(slice!.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    expect(
      slice!.endpoints!.map((e) => [e.addresses, e.conditions, e.nodeName, e.hostname, e.targetRef?.name]),
    ).toEqual([
      [["10.244.1.1"], { ready: true, serving: true, terminating: false }, "node-1", "web-0", "web-0"],
      // Terminating but still Ready: serving, not ready, so only draining clients use it.
      [["10.244.1.2"], { ready: false, serving: true, terminating: true }, "node-1", undefined, "web-2"],
      [["10.244.2.1"], { ready: false, serving: false, terminating: false }, "node-2", undefined, "web-1"],
    ]);

    // Level-triggered: the same state again writes nothing.
    await controller.sync("default/web");
    expect(actions()).toEqual([]);
  });

  it("marks every endpoint ready when the Service publishes not-ready addresses", async () => {
    const { controller, add, slices } = setup();
    add(servicesResource, service("web", { publishNotReadyAddresses: true }));
    add(podsResource, pod("web-0", "10.244.1.1", { ready: false }));
    await controller.sync("default/web");
    expect(slices()[0]!.endpoints![0]!.conditions).toEqual({
      ready: true,
      serving: true,
      terminating: false,
    });
  });

  it("keeps at most 100 endpoints per slice and rewrites only the slice a change touches", async () => {
    const { cluster, controller, add, slices, actions } = setup();
    add(servicesResource, service("web"));
    const pods = Array.from({ length: 250 }, (_, i) =>
      pod(`web-${i}`, `10.244.${Math.floor(i / 200)}.${(i % 200) + 1}`),
    );
    add(podsResource, ...pods);
    await controller.sync("default/web");
    expect(actions().filter((a) => a.startsWith("create"))).toHaveLength(3);
    expect(
      slices()
        .map((s) => s.endpoints!.length)
        .sort(),
    ).toEqual([100, 100, 50]);

    // One pod leaves: one slice is rewritten, the others stay as they are.
    const gone = slices()[0]!.endpoints![0]!.targetRef!.name!;
    cluster.mutate<Pod>(podsResource, `default/${gone}`, (p) => {
      p.status!.phase = "Succeeded";
    });
    await controller.sync("default/web");
    expect(actions()).toEqual([`update ${slices()[0]!.metadata.name}`]);

    // A new pod fills the slice with room instead of making a fourth.
    add(podsResource, pod("web-new", "10.244.9.9"));
    await controller.sync("default/web");
    const after = actions();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatch(/^update /);
    expect(slices()).toHaveLength(3);
    expect(slices().reduce((n, s) => n + s.endpoints!.length, 0)).toBe(250);
  });

  it("groups pods by the ports they resolve, one port list per slice", async () => {
    const { controller, add, slices } = setup();
    add(
      servicesResource,
      service("web", { ports: [{ name: "http", port: 80, targetPort: "web", protocol: "TCP" }] }),
    );
    const a = pod("web-a", "10.244.1.1");
    a.spec!.containers![0]!.ports = [{ name: "web", containerPort: 8080 }];
    const b = pod("web-b", "10.244.1.2");
    b.spec!.containers![0]!.ports = [{ name: "web", containerPort: 9090 }];
    const none = pod("web-c", "10.244.1.3");
    add(podsResource, a, b, none);
    await controller.sync("default/web");
    expect(
      slices()
        .map((s) => [s.ports!.map((p) => p.port), s.endpoints!.map((e) => e.addresses![0])])
        .sort(),
    ).toEqual([
      [[8080], ["10.244.1.1"]],
      [[9090], ["10.244.1.2"]],
    ]);
  });

  it("keeps one empty placeholder slice for a Service without endpoints", async () => {
    const { controller, add, slices, actions } = setup();
    add(servicesResource, service("web"));
    await controller.sync("default/web");
    expect(slices().map((s) => [s.endpoints, s.ports])).toEqual([[[], []]]);
    // A pod arriving replaces the placeholder with a slice carrying its ports.
    add(podsResource, pod("web-0", "10.244.1.1"));
    actions();
    await controller.sync("default/web");
    expect(actions().map((a) => a.split(" ")[0])).toEqual(["create", "delete"]);
    expect(slices().map((s) => s.endpoints!.length)).toEqual([1]);
  });

  it("deletes its slices when the Service loses its selector or becomes ExternalName, and leaves others' slices alone", async () => {
    const { cluster, controller, add, slices } = setup();
    add(servicesResource, service("web"), service("alias"));
    add(podsResource, pod("web-0", "10.244.1.1"), pod("alias-0", "10.244.1.2", { app: "alias" }));
    const foreign: EndpointSlice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "web-manual",
        namespace: testNamespace,
        labels: { [serviceNameLabel]: "web", [managedByLabel]: "someone-else" },
        ownerReferences: [{ apiVersion: "v1", kind: "Service", name: "web", uid: "uid-svc-web" }],
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["192.0.2.1"] }],
    };
    cluster.seed(endpointSlicesResource, foreign);
    await controller.sync("default/web");
    await controller.sync("default/alias");
    expect(slices()).toHaveLength(3);

    cluster.mutate<Service>(servicesResource, "default/web", (s) => void delete s.spec!.selector);
    cluster.mutate<Service>(servicesResource, "default/alias", (s) => {
      s.spec!.type = "ExternalName";
      s.spec!.externalName = "example.com";
    });
    await controller.sync("default/web");
    await controller.sync("default/alias");
    expect(slices().map((s) => s.metadata.name)).toEqual(["web-manual"]);
  });

  it("does nothing for a Service that is gone: its slices follow it through their owner reference", async () => {
    const { controller, actions } = setup();
    await controller.sync("default/gone");
    expect(actions()).toEqual([]);
  });

  it("wakes the Service when a slice it made reaches the cache late, so a stale placeholder goes", async () => {
    const queued: string[] = [];
    const cluster = new FakeCluster();
    const controller = new EndpointSliceController({
      services: cluster.lister<Service>(servicesResource),
      pods: cluster.lister<Pod>(podsResource),
      slices: cluster.lister<EndpointSlice>(endpointSlicesResource),
      client: cluster.client,
      recorder: cluster.recorder,
      queue: { add: (key) => queued.push(key) },
    });
    cluster.addHandler(endpointSlicesResource, controller.sliceHandler);
    cluster.seed(servicesResource, service("web"));
    controller.serviceHandler.onAdd!(cluster.lister<Service>(servicesResource).get(`${testNamespace}/web`)!);
    // No pods yet: an empty placeholder is created, but the cache does not show it yet.
    await controller.sync(`${testNamespace}/web`);
    cluster.seed(podsResource, pod("web-1", "10.244.1.5"));
    controller.podHandler.onAdd!(cluster.lister<Pod>(podsResource).get(`${testNamespace}/web-1`)!);
    await controller.sync(`${testNamespace}/web`);
    queued.length = 0;
    cluster.flush();
    expect(queued).toContain(`${testNamespace}/web`);
    await controller.sync(`${testNamespace}/web`);
    cluster.flush();
    const left = cluster.storedList<EndpointSlice>(endpointSlicesResource);
    expect(left.map((s) => s.endpoints?.map((e) => e.addresses?.[0]))).toEqual([["10.244.1.5"]]);
  });
});
