import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { EndpointSlice, Service } from "../../../proto/gen/api.js";
import { eventually } from "../garbage-collector/testing/eventually.js";
import { type RegistryHarness, startRegistryHarness } from "../garbage-collector/testing/registry-harness.js";
import { endpointSlicesResource, servicesResource } from "./controller.js";
import { serviceNameLabel } from "./plan.js";
import { startEndpointSliceController } from "./start.js";

const pods = resourceForKind("v1", "Pod")!;

describe("EndpointSlice controller on a real etcd and Registry", () => {
  let h: RegistryHarness;

  beforeAll(async () => {
    h = await startRegistryHarness();
    h.runController("endpointslice-controller", startEndpointSliceController);
  });

  afterAll(async () => {
    await h?.stop();
  });

  const runningPod = (name: string, ip: string) =>
    h.runPod(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "db" } },
        spec: {
          hostname: name,
          subdomain: "db",
          containers: [{ name: "app", image: "busybox", ports: [{ name: "sql", containerPort: 5432 }] }],
        },
      },
      { node: "node-1", ip },
    );

  const slices = async (): Promise<EndpointSlice[]> =>
    (await h.registry.list(endpointSlicesResource, { namespace: "default" })).items.filter(
      (s) => s.metadata.labels?.[serviceNameLabel] === "db",
    ) as EndpointSlice[];

  it("writes slices the API accepts, and flags a pod being deleted as terminating", async () => {
    const svc: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db" },
      spec: {
        selector: { app: "db" },
        clusterIP: "None",
        ports: [{ name: "sql", port: 5432, targetPort: "sql" }],
      },
    };
    await h.registry.create(servicesResource, svc, { namespace: "default" });
    await runningPod("db-0", "10.244.1.21");
    await runningPod("db-1", "10.244.1.22");
    await eventually(async () => {
      const [slice, ...rest] = await slices();
      expect(rest).toEqual([]);
      expect(slice!.ports).toEqual([{ name: "sql", port: 5432, protocol: "TCP" }]);
      expect(slice!.endpoints!.map((e) => [e.addresses![0], e.hostname, e.nodeName, e.conditions])).toEqual([
        ["10.244.1.21", "db-0", "node-1", { ready: true, serving: true, terminating: false }],
        ["10.244.1.22", "db-1", "node-1", { ready: true, serving: true, terminating: false }],
      ]);
    });

    const marked = await h.registry.delete(pods, "default", "db-1", { gracePeriodSeconds: 30 });
    expect(marked.removed).toBe(false);
    await eventually(async () => {
      const [slice] = await slices();
      expect(slice!.endpoints![1]!.conditions).toEqual({ ready: false, serving: true, terminating: true });
    });
  });
});
