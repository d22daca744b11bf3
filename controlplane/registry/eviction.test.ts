import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApiError, isApiError } from "../../foundation/api/errors.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Pod, PodDisruptionBudget } from "../../proto/gen/api.js";
import { Store } from "../store/store.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { evictPod, violationMessage } from "./eviction.js";
import { Registry } from "./registry.js";

const pods = resourceForKind("v1", "Pod")!;
const budgets = resourceForKind("policy/v1", "PodDisruptionBudget")!;
const eviction = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "policy/v1",
  kind: "Eviction",
  metadata: { name, namespace: "default" },
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!err) throw new Error("expected a failure");
  return err as ApiError;
}

describe("pods/eviction over a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let registry: Registry;
  const clock = new FakeClock(Date.parse("2024-05-01T12:00:00Z"));

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    store = new Store({ client, metrics: new MetricsRegistry() });
    registry = new Registry({ store, clock });
  });

  afterAll(async () => {
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  beforeEach(async () => {
    await client.delete().prefix("/registry/");
    await registry.ensureSystemNamespaces();
  });

  /** A Running, Ready pod of app=web (unbound, so a delete removes it at once). */
  async function readyPod(name: string): Promise<Pod> {
    await registry.create(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    return (await registry.updateStatus(pods, "default", name, {
      metadata: { name },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    })) as Pod;
  }

  /** A budget over app=web with the status the disruption controller would write. */
  async function budget(status: PodDisruptionBudget["status"]): Promise<void> {
    await registry.create(budgets, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "default" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
    });
    await registry.updateStatus(budgets, "default", "web", {
      metadata: { name: "web" },
      status: { observedGeneration: 1, ...status },
    });
  }

  const exists = async (name: string) =>
    registry.get(pods, "default", name).then(
      () => true,
      (err) => (isApiError(err, "NotFound") ? false : Promise.reject(err)),
    );

  it("deletes a pod no budget covers", async () => {
    await readyPod("a");
    await evictPod(registry, "default", "a", eviction("a"));
    expect(await exists("a")).toBe(false);
  });

  it("refuses with 429 and upstream's message when the budget allows no disruption, deleting nothing", async () => {
    await readyPod("a");
    await budget({ disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 });
    const err = await failure(evictPod(registry, "default", "a", eviction("a")));
    expect(err.code).toBe(429);
    expect(err.message).toBe(violationMessage);
    expect(err.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(err.details?.causes).toEqual([
      {
        reason: "DisruptionBudget",
        message: "The disruption budget web needs 1 healthy pods and has 1 currently",
        field: "",
      },
    ]);
    expect(await exists("a")).toBe(true);
  });

  it("takes one disruption and records the pod, so a second eviction right after is refused", async () => {
    await readyPod("a");
    await readyPod("b");
    await budget({ disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    await evictPod(registry, "default", "a", eviction("a"), { clock });
    expect(await exists("a")).toBe(false);
    const pdb = (await registry.get(budgets, "default", "web")) as PodDisruptionBudget;
    expect(pdb.status?.disruptionsAllowed).toBe(0);
    expect(pdb.status?.disruptedPods).toEqual({ a: "2024-05-01T12:00:00Z" });
    expect((await failure(evictPod(registry, "default", "b", eviction("b")))).code).toBe(429);
    expect(await exists("b")).toBe(true);
  });

  it("two evictions racing for the last disruption: exactly one wins", async () => {
    await readyPod("a");
    await readyPod("b");
    await budget({ disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    const results = await Promise.allSettled([
      evictPod(registry, "default", "a", eviction("a")),
      evictPod(registry, "default", "b", eviction("b")),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((refused.reason as ApiError).code).toBe(429);
    expect([await exists("a"), await exists("b")].filter(Boolean)).toHaveLength(1);
  });

  it("refuses while the budget's status is behind its spec", async () => {
    await readyPod("a");
    await budget({ disruptionsAllowed: 1, observedGeneration: 0 });
    const err = await failure(evictPod(registry, "default", "a", eviction("a")));
    expect(err.code).toBe(429);
    expect(err.details?.causes?.[0]?.message).toBe(
      "The disruption budget web is still being processed by the server.",
    );
  });

  it("evicts a Pending pod without consulting the budget", async () => {
    await registry.create(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await budget({ disruptionsAllowed: 0 });
    await evictPod(registry, "default", "p", eviction("p"));
    expect(await exists("p")).toBe(false);
  });

  it("refuses an Eviction naming another pod than the URL", async () => {
    await readyPod("a");
    const err = await failure(evictPod(registry, "default", "a", eviction("b")));
    expect(err.code).toBe(400);
    expect(await exists("a")).toBe(true);
  });

  it("a dry run takes nothing and deletes nothing", async () => {
    await readyPod("a");
    await budget({ disruptionsAllowed: 1, currentHealthy: 1, desiredHealthy: 0, expectedPods: 1 });
    await evictPod(registry, "default", "a", eviction("a", { deleteOptions: { dryRun: ["All"] } }));
    expect(await exists("a")).toBe(true);
    expect(
      ((await registry.get(budgets, "default", "web")) as PodDisruptionBudget).status?.disruptionsAllowed,
    ).toBe(1);
  });
});
