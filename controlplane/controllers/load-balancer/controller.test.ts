import { describe, expect, it } from "vitest";
import type { ConfigMap, Service } from "../../../proto/gen/api.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { configMapsResource, LoadBalancerController, servicesResource } from "./controller.js";

function lb(name: string, spec: Service["spec"] = {}, created = "2024-01-01T00:00:00Z"): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", uid: `uid-${name}`, creationTimestamp: created },
    spec: { type: "LoadBalancer", clusterIP: "10.96.0.5", ports: [{ port: 80, nodePort: 30080 }], ...spec },
  };
}

function pool(addresses: string): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "load-balancer-pool", namespace: "kube-system" },
    data: { addresses },
  };
}

function setup(addresses?: string) {
  const cluster = new FakeCluster({ autoFlush: true });
  if (addresses !== undefined) cluster.seed(configMapsResource, pool(addresses));
  const queued: string[] = [];
  const controller = new LoadBalancerController({
    services: cluster.lister<Service>(servicesResource),
    configMaps: cluster.lister<ConfigMap>(configMapsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    queue: { add: (key) => void queued.push(key) },
  });
  const ingress = (name: string) =>
    cluster
      .stored<Service>(servicesResource, `default/${name}`)
      ?.status?.loadBalancer?.ingress?.map((i) => i.ip);
  const actions = () => cluster.takeActions().map((a) => `${a.verb} ${a.name}`);
  return { cluster, controller, ingress, actions, queued };
}

describe("LoadBalancer address controller sync", () => {
  it("gives each LoadBalancer the lowest free address, once", async () => {
    const { cluster, controller, ingress, actions } = setup("192.0.2.10-192.0.2.11");
    cluster.seed(servicesResource, lb("a"), lb("b"), lb("c"));
    await controller.sync("default/a");
    await controller.sync("default/b");
    await controller.sync("default/c");
    expect([ingress("a"), ingress("b"), ingress("c")]).toEqual([["192.0.2.10"], ["192.0.2.11"], undefined]);
    expect(actions()).toEqual(["updateStatus a", "updateStatus b"]);
    expect(cluster.events.map((e) => e.reason)).toEqual(["IPAllocated", "IPAllocated", "AllocationFailed"]);
    expect(cluster.events[2]!.message).toContain(
      "no address left in the pool (192.0.2.10..192.0.2.11, 2 addresses)",
    );
    // Level-triggered: nothing more to do.
    await controller.sync("default/a");
    expect(actions()).toEqual([]);
  });

  it("honours spec.loadBalancerIP inside the pool and refuses one outside it", async () => {
    const { cluster, controller, ingress } = setup("192.0.2.0/29");
    cluster.seed(
      servicesResource,
      lb("a", { loadBalancerIP: "192.0.2.5" }),
      lb("b", { loadBalancerIP: "203.0.113.1" }),
    );
    await controller.sync("default/a");
    await controller.sync("default/b");
    expect(ingress("a")).toEqual(["192.0.2.5"]);
    expect(ingress("b")).toBeUndefined();
    expect(cluster.events.at(-1)!.message).toContain("spec.loadBalancerIP 203.0.113.1 is not in the pool");
  });

  it("leaves a Service of another loadBalancerClass alone and clears a former LoadBalancer's status", async () => {
    const { cluster, controller, ingress, actions } = setup("192.0.2.10");
    const other = lb("other", { loadBalancerClass: "example.com/lb" });
    other.status = { loadBalancer: { ingress: [{ ip: "198.51.100.1" }] } };
    const former = lb("former", { type: "ClusterIP" });
    former.status = { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } };
    cluster.seed(servicesResource, other, former);
    await controller.sync("default/other");
    await controller.sync("default/former");
    expect(ingress("other")).toEqual(["198.51.100.1"]);
    expect(ingress("former")).toBeUndefined();
    expect(actions()).toEqual(["updateStatus former"]);
  });

  it("says where to configure the pool when there is none, and allocates once it appears", async () => {
    const { cluster, controller, ingress, queued } = setup();
    cluster.seed(servicesResource, lb("a"));
    await controller.sync("default/a");
    expect(ingress("a")).toBeUndefined();
    expect(cluster.events[0]!.message).toContain(
      "set data.addresses of ConfigMap kube-system/load-balancer-pool",
    );
    controller.configMapHandler.onAdd!(pool("192.0.2.20"));
    expect(queued).toEqual(["default/a"]);
    cluster.seed(configMapsResource, pool("192.0.2.20"));
    await controller.sync("default/a");
    expect(ingress("a")).toEqual(["192.0.2.20"]);
  });

  it("moves an address that left the pool, and the older of two Services claiming one keeps it", async () => {
    const { cluster, controller, ingress } = setup("192.0.2.30-192.0.2.31");
    const gone = lb("gone");
    gone.status = { loadBalancer: { ingress: [{ ip: "203.0.113.9" }] } };
    const older = lb("older", {}, "2024-01-01T00:00:00Z");
    older.status = { loadBalancer: { ingress: [{ ip: "192.0.2.30" }] } };
    const newer = lb("newer", {}, "2024-02-01T00:00:00Z");
    newer.status = { loadBalancer: { ingress: [{ ip: "192.0.2.30" }] } };
    cluster.seed(servicesResource, gone, older, newer);
    await controller.sync("default/newer");
    await controller.sync("default/older");
    await controller.sync("default/gone");
    expect([ingress("older"), ingress("newer"), ingress("gone")]).toEqual([
      ["192.0.2.30"],
      ["192.0.2.31"],
      undefined,
    ]);
  });

  it("reports a bad pool naming the ConfigMap key", async () => {
    const { cluster, controller } = setup("192.0.2.300");
    cluster.seed(servicesResource, lb("a"));
    await controller.sync("default/a");
    expect(cluster.events[0]!.message).toMatch(
      /ConfigMap kube-system\/load-balancer-pool data\.addresses: "192\.0\.2\.300"/,
    );
  });
});
