import { describe, expect, it } from "vitest";
import { rfc3339 } from "../../../foundation/util/time.js";
import { newRevision } from "../../../foundation/workloads/statefulset/revisions.js";
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from "../../../proto/gen/api.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { t0 } from "../testing/fixtures.js";
import {
  claimsResource,
  podsResource,
  revisionsResource,
  StatefulSetController,
  statefulSetsResource,
} from "./controller.js";
import { newPod, revisionLabel } from "./identity.js";

interface SetOptions {
  replicas?: number;
  policy?: "OrderedReady" | "Parallel";
  image?: string;
  partition?: number;
  whenScaled?: string;
  whenDeleted?: string;
}

function statefulSet(o: SetOptions = {}): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "set-1",
      generation: 1,
      creationTimestamp: rfc3339(t0),
    },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: "web",
      podManagementPolicy: o.policy ?? "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: o.partition ?? 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: o.whenDeleted ?? "Retain",
        whenScaled: o.whenScaled ?? "Retain",
      },
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            { name: "app", image: o.image ?? "nginx:1", volumeMounts: [{ name: "www", mountPath: "/data" }] },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "www" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    },
  };
}

type PodState = "ready" | "pending" | "failed" | "terminating";

/** The set's pods 0..n-1 as the controller would have made them at `set`'s template, in `states`. */
function podsOf(set: StatefulSet, states: PodState[]): { pods: Pod[]; revision: ControllerRevision } {
  const revision = newRevision(set, 1);
  revision.metadata.uid = "rev-1";
  const pods = states.map((state, i) => {
    const pod = newPod(set, i, set.spec!.template!, revision.metadata.name!);
    pod.metadata.uid = `pod-${i}`;
    pod.spec!.nodeName = `n${i}`;
    pod.status = { phase: state === "failed" ? "Failed" : state === "pending" ? "Pending" : "Running" };
    if (state === "ready" || state === "terminating")
      pod.status.conditions = [{ type: "Ready", status: "True", lastTransitionTime: rfc3339(t0) }];
    if (state === "terminating") pod.metadata.deletionTimestamp = rfc3339(t0);
    return pod;
  });
  return { pods, revision };
}

function claimsFor(n: number): PersistentVolumeClaim[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: `www-web-${i}`, namespace: "default", uid: `claim-${i}` },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  }));
}

function setup(
  set: StatefulSet,
  pods: Pod[] = [],
  revisions: ControllerRevision[] = [],
  claims = claimsFor(pods.length),
) {
  const cluster = new FakeCluster();
  const c = new StatefulSetController({
    sets: cluster.lister<StatefulSet>(statefulSetsResource),
    pods: cluster.lister<Pod>(podsResource),
    claims: cluster.lister<PersistentVolumeClaim>(claimsResource),
    revisions: cluster.lister<ControllerRevision>(revisionsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.seed(statefulSetsResource, set);
  for (const p of pods) cluster.seed(podsResource, p);
  for (const r of revisions) cluster.seed(revisionsResource, r);
  for (const claim of claims) cluster.seed(claimsResource, claim);
  return { cluster, c };
}

const brief = (a: Action) => `${a.verb} ${a.resource} ${a.name}`;
const changes = (actions: Action[]) =>
  actions.filter((a) => a.verb !== "updateStatus" && a.verb !== "get").map(brief);

describe("StatefulSet controller", () => {
  const cases: { name: string; set: SetOptions; pods: PodState[]; claims?: number; want: string[] }[] = [
    {
      name: "OrderedReady makes web-0's claim, then web-0, and waits",
      set: {},
      pods: [],
      want: [
        "create controllerrevisions REVISION",
        "create persistentvolumeclaims www-web-0",
        "create pods web-0",
      ],
    },
    {
      name: "OrderedReady waits while web-0 is not Running and Ready",
      set: {},
      pods: ["pending"],
      want: [],
    },
    {
      name: "OrderedReady makes web-1 once web-0 is Ready",
      set: {},
      pods: ["ready"],
      want: ["create persistentvolumeclaims www-web-1", "create pods web-1"],
    },
    {
      name: "OrderedReady makes a deleted pod again, keeping its claim",
      set: {},
      pods: ["ready", "ready"],
      claims: 3,
      want: ["create pods web-2"],
    },
    {
      name: "Parallel makes every missing pod at once",
      set: { policy: "Parallel" },
      pods: ["pending"],
      want: [
        "create persistentvolumeclaims www-web-1",
        "create pods web-1",
        "create persistentvolumeclaims www-web-2",
        "create pods web-2",
      ],
    },
    {
      name: "a failed pod is deleted to be made again",
      set: {},
      pods: ["ready", "failed", "ready"],
      want: ["delete pods web-1"],
    },
    {
      name: "scaling down removes the highest ordinal first, one at a time",
      set: { replicas: 1 },
      pods: ["ready", "ready", "ready"],
      want: ["delete pods web-2"],
    },
    {
      name: "scaling down waits while the highest ordinal terminates",
      set: { replicas: 1 },
      pods: ["ready", "ready", "terminating"],
      want: [],
    },
    {
      name: "scaling down waits while a pod in range is not Ready",
      set: { replicas: 1 },
      pods: ["pending", "ready", "ready"],
      want: [],
    },
  ];

  it.each(cases)("$name", async ({ set: o, pods: states, claims, want }) => {
    const set = statefulSet(o);
    const { pods, revision } = podsOf(set, states);
    const { cluster, c } = setup(
      set,
      pods,
      states.length ? [revision] : [],
      claimsFor(claims ?? states.length),
    );
    await c.sync("default/web");
    expect(changes(cluster.takeActions())).toEqual(
      want.map((w) => w.replace("REVISION", revision.metadata.name!)),
    );
  });

  it("gives each pod its stable identity: hostname, subdomain, labels and its own claim", async () => {
    const { cluster, c } = setup(statefulSet());
    await c.sync("default/web");
    const pod = cluster.takeActions().find((a) => a.verb === "create" && a.resource === "pods")!.body as Pod;
    expect(pod.spec).toMatchObject({ hostname: "web-0", subdomain: "web" });
    expect(pod.metadata.labels).toMatchObject({
      app: "web",
      "statefulset.kubernetes.io/pod-name": "web-0",
      "apps.kubernetes.io/pod-index": "0",
    });
    expect(pod.metadata.labels?.[revisionLabel]).toMatch(/^web-/);
    expect(pod.spec?.volumes).toEqual([{ name: "www", persistentVolumeClaim: { claimName: "www-web-0" } }]);
    expect(cluster.events.map((e) => e.message)).toEqual([
      "create Claim www-web-0 Pod web-0 in StatefulSet web success",
      "create Pod web-0 in StatefulSet web successful",
    ]);
  });

  it("rolls a new template out from the highest ordinal down to the partition only", async () => {
    const old = statefulSet({ partition: 2 });
    const { pods, revision } = podsOf(old, ["ready", "ready", "ready"]);
    const updated = statefulSet({ partition: 2, image: "nginx:2" });
    updated.status = { currentRevision: revision.metadata.name! };
    const { cluster, c } = setup(updated, pods, [revision]);
    await c.sync("default/web");
    const actions = cluster.takeActions();
    const created = actions.find((a) => a.resource === "controllerrevisions")!.body as ControllerRevision;
    expect(created.revision).toBe(2);
    expect(changes(actions)).toEqual([
      `create controllerrevisions ${created.metadata.name}`,
      "delete pods web-2",
    ]);
    const status = actions.find((a) => a.verb === "updateStatus")!.body as StatefulSet;
    expect(status.status).toMatchObject({
      currentRevision: revision.metadata.name,
      updateRevision: created.metadata.name,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 0,
    });

    // web-2 came back at the new revision and is Ready: web-1 and web-0 stay below the partition.
    cluster.flush();
    cluster.finishTermination(podsResource, "default/web-2");
    cluster.flush();
    await c.sync("default/web");
    const recreate = cluster.takeActions().find((a) => a.verb === "create")!.body as Pod;
    expect(recreate.spec?.containers?.[0]?.image).toBe("nginx:2");
    cluster.flush();
    cluster.mutate<Pod>(podsResource, "default/web-2", (p) => {
      p.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
    });
    cluster.flush();
    await c.sync("default/web");
    expect(changes(cluster.takeActions())).toEqual([]);
  });

  it("whenScaled Delete hands the condemned pod its claims before deleting it", async () => {
    const set = statefulSet({ replicas: 2, whenScaled: "Delete" });
    const { pods, revision } = podsOf(set, ["ready", "ready", "ready"]);
    const { cluster, c } = setup(set, pods, [revision]);
    await c.sync("default/web");
    const actions = cluster.takeActions();
    expect(changes(actions)).toEqual(["patch persistentvolumeclaims www-web-2", "delete pods web-2"]);
    expect(actions[0]!.body).toEqual({
      metadata: { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "web-2", uid: "pod-2" }] },
    });
  });

  it("whenDeleted Delete makes the set an owner of new claims, so they go with it", async () => {
    const { cluster, c } = setup(statefulSet({ whenDeleted: "Delete" }));
    await c.sync("default/web");
    const claim = cluster.takeActions().find((a) => a.resource === "persistentvolumeclaims")!
      .body as PersistentVolumeClaim;
    expect(claim.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "StatefulSet", name: "web", uid: "set-1", controller: false }),
    ]);
  });

  it("going back to an old template renumbers its revision instead of making a copy", async () => {
    const v1 = statefulSet();
    const r1 = newRevision(v1, 1);
    const r2 = newRevision(statefulSet({ image: "nginx:2" }), 2);
    const { cluster, c } = setup(v1, [], [r1, r2], []);
    await c.sync("default/web");
    const update = cluster.takeActions().find((a) => a.resource === "controllerrevisions")!;
    expect(brief(update)).toBe(`update controllerrevisions ${r1.metadata.name}`);
    expect((update.body as ControllerRevision).revision).toBe(3);
  });
});
