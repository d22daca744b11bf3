import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "../../../foundation/api/errors.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { FakeClock } from "../../../foundation/util/clock.js";
import type { Lease, Node, Toleration } from "../../../proto/gen/api.js";
import { eventually } from "../garbage-collector/testing/eventually.js";
import { type RegistryHarness, startRegistryHarness } from "../garbage-collector/testing/registry-harness.js";
import { leasesResource, nodesResource, podsResource } from "./node-lifecycle-controller.js";
import { startNodeLifecycleController } from "./start.js";

const namespacesR = resourceForKind("v1", "Namespace")!;
const t0 = Date.parse("2024-05-01T12:00:00Z");
const leaseNs = "kube-node-lease";
const unreachable = "node.kubernetes.io/unreachable";

describe("node lifecycle controller on a real etcd and Registry", () => {
  const clock = new FakeClock(t0);
  let h: RegistryHarness;
  const stop = new AbortController();
  let done: Promise<void>;
  const errors: unknown[] = [];

  /** What the NodeService does for a hollow node's agent: renew its Lease at the current time. */
  async function renew(name: string): Promise<void> {
    const renewTime = new Date(clock.now()).toISOString();
    await h.registry.patch(leasesResource, leaseNs, name, { spec: { renewTime } });
    // Wait until the controller's cache has it, so moving the clock cannot outrun the renewal.
    const cache = h.informers.informer<Lease & KubeObject>(leasesResource).lister;
    await eventually(() => expect(cache.get(`${leaseNs}/${name}`)?.spec?.renewTime).toBe(renewTime));
  }

  /** Moves the fake clock in 10 s steps, renewing the leases of `alive` nodes at each step. */
  async function advance(ms: number, alive: string[]): Promise<void> {
    for (let left = ms; left > 0; left -= 10_000) {
      clock.advance(Math.min(10_000, left));
      for (const name of alive) await renew(name);
    }
  }

  const node = (name: string) => h.registry.get(nodesResource, undefined, name) as Promise<Node & KubeObject>;
  const podExists = async (name: string): Promise<boolean> => {
    try {
      await h.registry.get(podsResource, "default", name);
      return true;
    } catch (err) {
      if (isApiError(err, "NotFound")) return false;
      throw err;
    }
  };

  beforeAll(async () => {
    h = await startRegistryHarness({ clock });
    await h.registry.create(namespacesR, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: leaseNs },
    });
    for (const name of ["n1", "n2"]) {
      const now = new Date(clock.now()).toISOString();
      await h.registry.create(nodesResource, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name },
        status: {
          conditions: [{ type: "Ready", status: "True", reason: "AgentReady", lastHeartbeatTime: now }],
        },
      });
      await h.registry.create(leasesResource, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: leaseNs },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now },
      });
    }
    const pod = (name: string, nodeName: string, tolerations?: Toleration[]) =>
      h.registry.create(
        podsResource,
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name },
          spec: {
            nodeName,
            containers: [{ name: "c", image: "busybox" }],
            ...(tolerations ? { tolerations } : {}),
          },
        },
        { namespace: "default" },
      );
    await pod("defaulted", "n1");
    await pod("quick", "n1", [
      { key: unreachable, operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
    ]);
    await pod("stays", "n1", [{ key: unreachable, operator: "Exists", effect: "NoExecute" }]);
    await pod("other", "n2");
    ({ done } = startNodeLifecycleController({
      informers: h.informers,
      client: h.client,
      recorder: h.recorder("node-controller"),
      clock,
      signal: stop.signal,
      defaultTolerationSeconds: 120,
      onError: (_key, err) => errors.push(err),
    }));
  });

  afterAll(async () => {
    stop.abort();
    await done;
    await h?.stop();
  });

  it("a node whose lease stops being renewed turns Unknown, is tainted, and loses its pods as their tolerations run out", async () => {
    await advance(40_000, ["n1", "n2"]);
    // n1's agent dies now; n2's keeps renewing.
    const silentSince = clock.now();
    await advance(41_000, ["n2"]);
    const tainted = await eventually(async () => {
      const n1 = await node("n1");
      expect(n1.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
      });
      expect(n1.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual([
        `${unreachable}:NoSchedule`,
        `${unreachable}:NoExecute`,
      ]);
      return n1;
    });
    const taintedAt = Date.parse(tainted.spec!.taints![1]!.timeAdded!);
    expect(taintedAt - silentSince).toBeGreaterThan(40_000);
    expect((await node("n2")).spec?.taints).toBeUndefined();
    expect(await podExists("quick")).toBe(true);

    // 30 s after the taint, the pod tolerating it for 30 s is force-deleted (its agent cannot finish it).
    await advance(taintedAt + 30_000 - clock.now(), ["n2"]);
    await eventually(async () => expect(await podExists("quick")).toBe(false));
    expect(await podExists("defaulted")).toBe(true);
    expect(await h.eventsAbout("quick")).toEqual([
      "Normal TaintManagerEviction: Marking for deletion Pod default/quick",
    ]);

    // The configured default toleration (120 s) runs out for the pod without tolerations of its own.
    await advance(taintedAt + 120_000 - clock.now(), ["n2"]);
    await eventually(async () => expect(await podExists("defaulted")).toBe(false));
    expect(await podExists("stays")).toBe(true);
    expect(await podExists("other")).toBe(true);
    expect(await h.eventsAbout("n1")).toContain("Normal NodeNotReady: Node n1 status is now: NodeNotReady");
  });

  it("a node whose agent comes back and reports Ready loses the unreachable taints", async () => {
    await renew("n1");
    await h.registry.patchStatus(nodesResource, undefined, "n1", {
      status: { conditions: [{ type: "Ready", status: "True", reason: "AgentReady" }] },
    });
    await eventually(async () => expect((await node("n1")).spec?.taints).toBeUndefined());
    expect(errors.filter((e) => !isApiError(e, "Conflict"))).toEqual([]);
  });
});
