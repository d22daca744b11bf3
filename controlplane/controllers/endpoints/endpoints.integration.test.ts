import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "../../../foundation/api/errors.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Endpoints, Service } from "../../../proto/gen/api.js";
import { eventually } from "../garbage-collector/testing/eventually.js";
import { type RegistryHarness, startRegistryHarness } from "../garbage-collector/testing/registry-harness.js";
import { endpointsResource, servicesResource } from "./controller.js";
import { startEndpointsController } from "./start.js";

const pods = resourceForKind("v1", "Pod")!;

describe("endpoints controller on a real etcd and Registry", () => {
  let h: RegistryHarness;

  beforeAll(async () => {
    h = await startRegistryHarness();
    h.runController("endpoint-controller", startEndpointsController);
  });

  afterAll(async () => {
    await h?.stop();
  });

  /** Creates a pod bound to node-1, then reports it Running (and Ready unless told otherwise) at `ip`. */
  const runningPod = (name: string, ip: string, ready = true) =>
    h.runPod(
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "web" } },
        spec: {
          containers: [{ name: "app", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }],
        },
      },
      { node: "node-1", ip, ready },
    );
  const setReady = (name: string, ip: string, ready: boolean) => h.reportRunning(name, ip, ready);

  const readyIPs = async (): Promise<string[]> => {
    const ep = (await h.registry.get(endpointsResource, "default", "web")) as Endpoints;
    return (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip ?? "")).sort();
  };

  it("follows pods through readiness and graceful deletion, and goes with its Service", async () => {
    const svc: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
    };
    await h.registry.create(servicesResource, svc, { namespace: "default" });
    await runningPod("web-1", "10.244.1.11");
    await runningPod("web-2", "10.244.1.12", false);

    await eventually(async () => {
      const ep = (await h.registry.get(endpointsResource, "default", "web")) as Endpoints;
      expect(ep.subsets).toEqual([
        {
          addresses: [expect.objectContaining({ ip: "10.244.1.11", nodeName: "node-1" })],
          notReadyAddresses: [expect.objectContaining({ ip: "10.244.1.12" })],
          ports: [{ port: 8080, protocol: "TCP" }],
        },
      ]);
    });

    await setReady("web-2", "10.244.1.12", true);
    await eventually(async () => expect(await readyIPs()).toEqual(["10.244.1.11", "10.244.1.12"]));

    // An unrelated pod change rewrites nothing.
    const before = (await h.registry.get(endpointsResource, "default", "web")).metadata.resourceVersion;
    await h.registry.patch(pods, "default", "web-1", { metadata: { annotations: { note: "x" } } });
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.registry.get(endpointsResource, "default", "web")).metadata.resourceVersion).toBe(before);

    // A bound pod's delete only marks it; its address must leave while it still exists.
    const marked = await h.registry.delete(pods, "default", "web-1", { gracePeriodSeconds: 30 });
    expect(marked.removed).toBe(false);
    await eventually(async () => expect(await readyIPs()).toEqual(["10.244.1.12"]));

    await h.registry.delete(servicesResource, "default", "web");
    await eventually(async () => {
      const gone = await h.registry.get(endpointsResource, "default", "web").then(
        () => false,
        (err: unknown) => isApiError(err, "NotFound"),
      );
      expect(gone).toBe(true);
    });
  });
});
