import { describe, expect, it } from "vitest";
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../proto/gen/api.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import {
  claimsResource,
  classesResource,
  nodesResource,
  VolumeController,
  volumesResource,
} from "./controller.js";
import { localPathClass, localStorageDirAnnotation, selectedNodeAnnotation } from "./local-path.js";

function setup() {
  const cluster = new FakeCluster();
  const c = new VolumeController({
    claims: cluster.lister<PersistentVolumeClaim>(claimsResource),
    volumes: cluster.lister<PersistentVolume>(volumesResource),
    classes: cluster.lister<StorageClass>(classesResource),
    nodes: cluster.lister<Node>(nodesResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.seed(classesResource, {
    ...localPathClass(),
    metadata: { ...localPathClass().metadata, uid: "sc-1" },
  });
  cluster.seed(nodesResource, {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: "n1",
      uid: "node-1",
      annotations: { [localStorageDirAnnotation]: "/var/lib/kctl/storage" },
    },
  } as Node);
  return { cluster, c };
}

function claim(
  o: { className?: string; node?: string; volume?: string; phase?: string } = {},
): PersistentVolumeClaim {
  const pvc: PersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "www-web-0", namespace: "default", uid: "c-1" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    status: { phase: o.phase ?? "Pending" },
  };
  if (o.className !== undefined) pvc.spec!.storageClassName = o.className;
  if (o.node) pvc.metadata.annotations = { [selectedNodeAnnotation]: o.node };
  if (o.volume) pvc.spec!.volumeName = o.volume;
  return pvc;
}

function volume(policy: string, claimUid = "c-1", phase = "Bound"): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-c-1", uid: "v-1" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: policy,
      storageClassName: "local-path",
      local: { path: "/var/lib/kctl/storage/pvc-c-1" },
      claimRef: { namespace: "default", name: "www-web-0", uid: claimUid },
    },
    status: { phase },
  };
}

const brief = (a: Action) => `${a.verb} ${a.resource} ${a.name}`;

describe("PersistentVolume controller", () => {
  it("fills the default class into a claim that names none", async () => {
    const { cluster, c } = setup();
    cluster.seed(claimsResource, claim());
    await c.sync("claim:default/www-web-0");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["update persistentvolumeclaims www-web-0"]);
    expect((actions[0]!.body as PersistentVolumeClaim).spec?.storageClassName).toBe("local-path");
  });

  it("waits for the first consumer before provisioning, and says so", async () => {
    const { cluster, c } = setup();
    cluster.seed(claimsResource, claim({ className: "local-path" }));
    await c.sync("claim:default/www-web-0");
    expect(cluster.takeActions()).toEqual([]);
    expect(cluster.events.map((e) => `${e.reason}: ${e.message}`)).toEqual([
      "WaitForFirstConsumer: waiting for first consumer to be created before binding",
    ]);
  });

  it("provisions a PV on the selected node, with affinity to it and the request as capacity, then binds", async () => {
    const { cluster, c } = setup();
    cluster.seed(claimsResource, claim({ className: "local-path", node: "n1" }));
    await c.sync("claim:default/www-web-0");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "create persistentvolumes pvc-c-1",
      "update persistentvolumeclaims www-web-0",
    ]);
    const pv = actions[0]!.body as PersistentVolume;
    expect(pv.spec).toMatchObject({
      capacity: { storage: "1Gi" },
      persistentVolumeReclaimPolicy: "Delete",
      local: { path: "/var/lib/kctl/storage/pvc-c-1" },
      claimRef: { namespace: "default", name: "www-web-0", uid: "c-1" },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n1"] }] },
          ],
        },
      },
    });
    expect((actions[1]!.body as PersistentVolumeClaim).spec?.volumeName).toBe("pvc-c-1");
    expect(cluster.events.map((e) => e.reason)).toEqual(["ProvisioningSucceeded"]);
  });

  it("reports a bound claim Bound with its volume's capacity, and Lost when the volume goes", async () => {
    const { cluster, c } = setup();
    cluster.seed(claimsResource, claim({ className: "local-path", volume: "pvc-c-1" }));
    cluster.seed(volumesResource, volume("Delete"));
    await c.sync("claim:default/www-web-0");
    const [write] = cluster.takeActions();
    expect(brief(write!)).toBe("updateStatus persistentvolumeclaims www-web-0");
    expect((write!.body as PersistentVolumeClaim).status).toEqual({
      phase: "Bound",
      accessModes: ["ReadWriteOnce"],
      capacity: { storage: "1Gi" },
    });
    const lost = setup();
    lost.cluster.seed(claimsResource, claim({ className: "local-path", volume: "pvc-c-1", phase: "Bound" }));
    await lost.c.sync("claim:default/www-web-0");
    expect((lost.cluster.takeActions()[0]!.body as PersistentVolumeClaim).status?.phase).toBe("Lost");
    expect(lost.cluster.events.map((e) => e.reason)).toEqual(["ClaimLost"]);
  });

  it.each([
    {
      policy: "Delete",
      actions: ["updateStatus persistentvolumes pvc-c-1", "delete persistentvolumes pvc-c-1"],
    },
    { policy: "Retain", actions: ["updateStatus persistentvolumes pvc-c-1"] },
  ])(
    "releases a volume whose claim is gone and reclaims it by policy $policy",
    async ({ policy, actions }) => {
      const { cluster, c } = setup();
      cluster.seed(volumesResource, volume(policy));
      await c.sync("volume:pvc-c-1");
      const taken = cluster.takeActions();
      expect(taken.map(brief)).toEqual(actions);
      expect((taken[0]!.body as PersistentVolume).status?.phase).toBe("Released");
    },
  );

  it("a claim of the same name but a new uid does not keep the old volume", async () => {
    const { cluster, c } = setup();
    cluster.seed(claimsResource, {
      ...claim({ className: "local-path" }),
      metadata: { ...claim().metadata, uid: "c-2" },
    });
    cluster.seed(volumesResource, volume("Retain", "c-1"));
    await c.sync("volume:pvc-c-1");
    expect((cluster.takeActions()[0]!.body as PersistentVolume).status?.phase).toBe("Released");
  });
});
