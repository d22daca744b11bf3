/**
 * The ServiceAccount admission's lookup on a real etcd and Registry, with the race made certain: the
 * account is written and the pod created at once, against an informer cache that has not caught up
 * (it holds nothing yet). The pod must be admitted as its account, from a live read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { Pod, ServiceAccount } from "../../proto/gen/api.js";
import { ObjectCache } from "../client/object-cache.js";
import {
  type RegistryHarness,
  startRegistryHarness,
} from "../controllers/garbage-collector/testing/registry-harness.js";
import type { Registry } from "../registry/index.js";
import { serviceAccountAdmission } from "../serviceaccount/admission.js";
import { cachedThenLive } from "./service-accounts.js";

const pods = resourceForKind("v1", "Pod")!;
const serviceAccounts = resourceForKind("v1", "ServiceAccount")!;

describe("the ServiceAccount admission's lookup, when the cache is behind etcd", () => {
  let h: RegistryHarness;
  let registry: Registry;
  // The informer's own store, before its watch has delivered the accounts written below.
  const behind = new ObjectCache<ServiceAccount & KubeObject>();

  beforeAll(async () => {
    h = await startRegistryHarness();
    registry = h.registry;
    registry.addAdmission(
      serviceAccountAdmission({
        getServiceAccount: cachedThenLive(behind, registry),
        defaultAccountWaitMs: 0,
      }),
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  const pod = (name: string, account: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { serviceAccountName: account, containers: [{ name: "c", image: "kctl.local/busybox:debian" }] },
  });

  it("admits a pod as an account written a moment before, which the cache does not hold", async () => {
    await registry.create(
      serviceAccounts,
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "puller" },
        imagePullSecrets: [{ name: "regcred" }],
      } as KubeObject,
      { namespace: "default" },
    );
    expect(behind.get("default/puller")).toBeUndefined();
    const created = (await registry.create(pods, pod("web", "puller"), { namespace: "default" })) as Pod;
    expect(created.spec?.serviceAccountName).toBe("puller");
    expect(created.spec?.imagePullSecrets).toEqual([{ name: "regcred" }]);
  });

  it("still refuses a pod whose account exists nowhere, and writes nothing", async () => {
    const err = await registry.create(pods, pod("ghost", "nobody"), { namespace: "default" }).catch((e) => e);
    expect(isApiError(err, "Forbidden")).toBe(true);
    expect((err as Error).message).toContain('serviceaccount "nobody" not found');
    await expect(registry.get(pods, "default", "ghost")).rejects.toThrow(/not found/);
  });
});
