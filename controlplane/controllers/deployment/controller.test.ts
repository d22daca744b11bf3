import { describe, expect, it } from "vitest";
import { rfc3339 } from "../../../foundation/util/time.js";
import { computeHash, podTemplateHashLabel } from "../../../foundation/workloads/deployment/hash.js";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import { podsResource, replicaSetsResource } from "../replicaset/controller.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { deployment, replicaSet, t0 } from "../testing/fixtures.js";
import { DeploymentController } from "./controller.js";
import { deploymentsResource } from "./sync.js";

function setup() {
  const cluster = new FakeCluster();
  const dc = new DeploymentController({
    deployments: cluster.lister<Deployment>(deploymentsResource),
    replicaSets: cluster.lister<ReplicaSet>(replicaSetsResource),
    pods: cluster.lister<Pod>(podsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  return { cluster, dc };
}

const brief = (a: Action): string => {
  const body = a.body as { spec?: { replicas?: number } } | undefined;
  const size = a.verb === "update" && a.resource === "replicasets" ? ` replicas=${body?.spec?.replicas}` : "";
  return `${a.verb} ${a.resource} ${a.name}${size}`;
};

/** An owned ReplicaSet of `d` for `image`, as the controller would have made it. */
function ownedSet(
  d: Deployment,
  image: string,
  replicas: number,
  available: number,
  revision: number,
  created = t0,
) {
  const template = structuredClone(d.spec!.template!);
  template.spec!.containers![0]!.image = image;
  const hash = computeHash(template);
  const rs = replicaSet(`web-${hash}`, {
    replicas,
    uid: `rs-${image}`,
    owner: d,
    image,
    selector: { app: "web", [podTemplateHashLabel]: hash },
    labels: { app: "web", [podTemplateHashLabel]: hash },
    created,
    annotations: {
      "deployment.kubernetes.io/revision": String(revision),
      "deployment.kubernetes.io/desired-replicas": String(d.spec!.replicas),
      "deployment.kubernetes.io/max-replicas": String(d.spec!.replicas! + 1),
    },
    status: { replicas, readyReplicas: available, availableReplicas: available, observedGeneration: 1 },
  });
  return rs;
}

describe("Deployment controller: one sync", () => {
  it("creates the first ReplicaSet at full size with hash label, selector, owner and revision 1", async () => {
    const { cluster, dc } = setup();
    cluster.seed(deploymentsResource, deployment("web", { replicas: 3, uid: "d-1" }));
    await dc.sync("default/web");
    const actions = cluster.takeActions();
    const hash = computeHash(deployment("web").spec!.template);
    expect(actions.map(brief)).toEqual([
      `create replicasets web-${hash}`,
      "patch deployments web",
      "updateStatus deployments web",
      "updateStatus deployments web",
    ]);
    expect(actions[0]!.body).toMatchObject({
      metadata: {
        name: `web-${hash}`,
        labels: { app: "web", [podTemplateHashLabel]: hash },
        annotations: {
          "deployment.kubernetes.io/revision": "1",
          "deployment.kubernetes.io/desired-replicas": "3",
          "deployment.kubernetes.io/max-replicas": "4",
        },
        ownerReferences: [
          { kind: "Deployment", name: "web", uid: "d-1", controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web", [podTemplateHashLabel]: hash } },
        template: { metadata: { labels: { app: "web", [podTemplateHashLabel]: hash } } },
      },
    });
    expect(actions[1]!.body).toEqual({
      metadata: { annotations: { "deployment.kubernetes.io/revision": "1" } },
    });
    const status = (actions[3]!.body as Deployment).status;
    expect(status).toMatchObject({
      observedGeneration: 1,
      replicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
      unavailableReplicas: 3,
    });
    expect(status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Progressing", "True", "NewReplicaSetCreated"],
      ["Available", "False", "MinimumReplicasUnavailable"],
    ]);
    expect(cluster.events).toEqual([
      {
        type: "Normal",
        reason: "ScalingReplicaSet",
        message: `Scaled up replica set web-${hash} from 0 to 3`,
        object: "default/web",
      },
    ]);
  });

  const steps: { name: string; old: [number, number]; next: [number, number]; expect: string[] }[] = [
    // replicas=4, maxSurge=1, maxUnavailable=0 throughout.
    {
      name: "starts by surging one new pod",
      old: [4, 4],
      next: [0, 0],
      expect: ["update replicasets NEW replicas=1"],
    },
    { name: "waits while the new pod is unavailable", old: [4, 4], next: [1, 0], expect: [] },
    {
      name: "drops one old pod once the new one is available",
      old: [4, 4],
      next: [1, 1],
      expect: ["update replicasets OLD replicas=3"],
    },
    {
      name: "surges again after the old set shrank",
      old: [3, 3],
      next: [1, 1],
      expect: ["update replicasets NEW replicas=2"],
    },
    // all=5, minAvailable=4, new unavailable 0 → may remove 1: an unavailable old pod (available 3 stays 3).
    {
      name: "removes an unavailable old pod even with no availability to spare",
      old: [4, 2],
      next: [1, 1],
      expect: ["update replicasets OLD replicas=3"],
    },
  ];
  it.each(steps)("rolling step: $name", async ({ old, next, expect: wanted }) => {
    const { cluster, dc } = setup();
    const d = deployment("web", { replicas: 4, uid: "d-1", maxSurge: 1, maxUnavailable: 0, image: "web:2" });
    d.metadata.annotations = { "deployment.kubernetes.io/revision": "2" };
    d.status = { observedGeneration: 1 };
    const oldRS = ownedSet(d, "web:1", old[0], old[1], 1, t0 - 60_000);
    const newRS = ownedSet(d, "web:2", next[0], next[1], 2);
    cluster.seed(deploymentsResource, d);
    cluster.seed(replicaSetsResource, oldRS, newRS);
    await dc.sync("default/web");
    const names = { [oldRS.metadata.name!]: "OLD", [newRS.metadata.name!]: "NEW" };
    const writes = cluster
      .takeActions()
      .filter((a) => a.resource === "replicasets")
      .map((a) => brief({ ...a, name: names[a.name] ?? a.name }));
    expect(writes).toEqual(wanted);
  });

  it("bumps collisionCount when the hashed name belongs to a foreign ReplicaSet", async () => {
    const { cluster, dc } = setup();
    const d = deployment("web", { replicas: 1, uid: "d-1" });
    const hash = computeHash(d.spec!.template);
    cluster.seed(deploymentsResource, d);
    // Same name, not ours, and selecting other pods: not claimed, but in the way.
    const squatter = replicaSet(`web-${hash}`, { uid: "foreign", selector: { app: "other" } });
    cluster.seed(replicaSetsResource, squatter);
    await expect(dc.sync("default/web")).rejects.toThrow(/already exists/);
    const status = cluster.takeActions().find((a) => a.verb === "updateStatus")?.body as Deployment;
    expect(status.status?.collisionCount).toBe(1);
    expect(computeHash(d.spec!.template, 1)).not.toBe(hash);
  });

  it("adopts an orphan ReplicaSet its selector matches and releases one that stopped matching", async () => {
    const { cluster, dc } = setup();
    const d = deployment("web", { replicas: 1, uid: "d-1" });
    cluster.seed(deploymentsResource, d);
    const orphan = replicaSet("web-orphan", { selector: { app: "web" }, uid: "o-1", replicas: 0 });
    const strayed = replicaSet("web-strayed", {
      selector: { app: "web" },
      labels: { app: "elsewhere" },
      uid: "s-1",
      owner: d,
    });
    cluster.seed(replicaSetsResource, orphan, strayed);
    await dc.sync("default/web");
    const actions = cluster.takeActions().map(brief);
    expect(actions.slice(0, 3)).toEqual([
      "get deployments web",
      "patch replicasets web-orphan",
      "patch replicasets web-strayed",
    ]);
  });

  it("requeues itself for the moment the progress deadline passes", async () => {
    const { cluster, dc } = setup();
    const d = deployment("web", { replicas: 1, uid: "d-1", progressDeadlineSeconds: 30, image: "web:2" });
    d.metadata.annotations = { "deployment.kubernetes.io/revision": "2" };
    const oldRS = ownedSet(d, "web:1", 1, 1, 1, t0 - 60_000);
    const newRS = ownedSet(d, "web:2", 1, 0, 2);
    newRS.metadata.annotations!["deployment.kubernetes.io/max-replicas"] = "2";
    d.status = {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 1,
      conditions: [
        {
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: `ReplicaSet "${newRS.metadata.name}" is progressing.`,
          lastUpdateTime: rfc3339(t0 - 10_000),
          lastTransitionTime: rfc3339(t0 - 10_000),
        },
        {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
          lastUpdateTime: rfc3339(t0 - 60_000),
          lastTransitionTime: rfc3339(t0 - 60_000),
        },
      ],
    };
    cluster.seed(deploymentsResource, d);
    cluster.seed(replicaSetsResource, oldRS, newRS);
    await dc.sync("default/web");
    expect(cluster.takeActions()).toEqual([]);
    // deadline at t0-10s+30s = t0+20s; one second later, as Kubernetes does.
    expect(cluster.queue.after).toEqual([["default/web", 21_000]]);
  });

  it("warns and does nothing else for a Deployment whose selector selects everything", async () => {
    const { cluster, dc } = setup();
    const d = deployment("web", { uid: "d-1" });
    d.spec!.selector = {};
    d.metadata.generation = 2;
    cluster.seed(deploymentsResource, d);
    await dc.sync("default/web");
    expect(cluster.takeActions().map(brief)).toEqual(["updateStatus deployments web"]);
    expect(cluster.events.map((e) => e.reason)).toEqual(["SelectingAll"]);
  });
});
