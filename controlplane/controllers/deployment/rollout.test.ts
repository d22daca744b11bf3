import { describe, expect, it } from "vitest";
import {
  autoRollbackAnnotation,
  revisionAnnotation,
  revisionHistoryAnnotation,
} from "../../../foundation/workloads/deployment/annotations.js";
import { podTemplateHashLabel } from "../../../foundation/workloads/deployment/hash.js";
import { planRollback } from "../../../foundation/workloads/deployment/rollback.js";
import { rolloutStatus } from "../../../foundation/workloads/deployment/rollout-status.js";
import type { Deployment, Pod } from "../../../proto/gen/api.js";
import { isPodAvailable } from "../../client/pod-state.js";
import { podsResource } from "../replicaset/controller.js";
import { deployment } from "../testing/fixtures.js";
import { RolloutHarness } from "../testing/rollout-harness.js";
import { deploymentsResource } from "./sync.js";

const imageOf = (p: Pod) => p.spec?.containers?.[0]?.image;
const setImage = (image: string) => (d: Deployment) => {
  d.spec!.template!.spec!.containers![0]!.image = image;
};
const condition = (d: Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);

async function started(d: Deployment, h = new RolloutHarness()): Promise<RolloutHarness> {
  await h.cluster.client.create(deploymentsResource, "default", d);
  await h.settle();
  return h;
}

/**
 * Checks both rollout bounds on every store change (whoever made it); returns the states seen and
 * the violations found. A violation is recorded, not thrown, so it cannot be mistaken for a failed write.
 */
function watchBounds(h: RolloutHarness, name: string, maxTotal: number, minAvailable: number, minReady = 0) {
  const seen: { total: number; available: number }[] = [];
  const violations: string[] = [];
  h.cluster.afterChange = () => {
    const pods = h.podsOf(name);
    const available = pods.filter((p) => isPodAvailable(p, minReady, h.cluster.clock.now())).length;
    seen.push({ total: pods.length, available });
    if (pods.length > maxTotal) violations.push(`change ${seen.length}: ${pods.length} pods > ${maxTotal}`);
    if (available < minAvailable)
      violations.push(`change ${seen.length}: ${available} available < ${minAvailable}`);
  };
  return { seen, violations };
}

describe("RollingUpdate, step by step", () => {
  const cases = [
    {
      name: "replicas 4, maxSurge 1, maxUnavailable 0",
      replicas: 4,
      surge: 1 as number | string,
      unavailable: 0 as number | string,
      maxTotal: 5,
      minAvailable: 4,
    },
    // replicas=4: 25% surge → 1 (round up), 25% unavailable → 1 (round down)
    {
      name: "replicas 4, 25%/25%",
      replicas: 4,
      surge: "25%",
      unavailable: "25%",
      maxTotal: 5,
      minAvailable: 3,
    },
    // replicas=10: 25% surge → 3 (2.5 up), 25% unavailable → 2 (2.5 down)
    {
      name: "replicas 10, 25%/25%",
      replicas: 10,
      surge: "25%",
      unavailable: "25%",
      maxTotal: 13,
      minAvailable: 8,
    },
  ];
  it.each(cases)(
    "$name keeps both bounds at every change",
    async ({ replicas, surge, unavailable, maxTotal, minAvailable }) => {
      const h = await started(
        deployment("web", { replicas, maxSurge: surge, maxUnavailable: unavailable, image: "web:1" }),
      );
      expect(h.podsOf("web").map(imageOf)).toEqual(Array(replicas).fill("web:1"));
      const { seen, violations } = watchBounds(h, "web", maxTotal, minAvailable);
      h.editDeployment("web", setImage("web:2"));
      await h.settle();
      h.cluster.afterChange = undefined;
      expect(violations).toEqual([]);
      expect(h.errors).toEqual([]);
      expect(seen.length).toBeGreaterThan(4 * replicas);
      expect(seen.some((s) => s.total === maxTotal)).toBe(true);
      expect(h.podsOf("web").map(imageOf)).toEqual(Array(replicas).fill("web:2"));
      const d = h.deployment("web");
      expect(d.metadata.annotations?.[revisionAnnotation]).toBe("2");
      expect(d.status).toMatchObject({
        observedGeneration: 2,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        unavailableReplicas: 0,
      });
      expect(condition(d, "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
      expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
      expect(rolloutStatus(d)).toEqual({
        done: true,
        failed: false,
        message: 'deployment "web" successfully rolled out',
      });
      const sets = h.replicaSetsOf("web");
      expect(
        sets.map((rs) => [rs.metadata.annotations?.[revisionAnnotation], rs.spec?.replicas]).sort(),
      ).toEqual([
        ["1", 0],
        ["2", replicas],
      ]);
      const scaling = h.cluster.events.filter((e) => e.reason === "ScalingReplicaSet").map((e) => e.message);
      expect(scaling[0]).toMatch(/^Scaled up replica set web-\w+ from 0 to \d+$/);
      expect(scaling.at(-1)).toMatch(/^Scaled down replica set web-\w+ from \d+ to 0$/);
    },
  );

  it("names the ReplicaSet <deployment>-<hash> and labels and selects its pods by that hash", async () => {
    const h = await started(deployment("web", { replicas: 2 }));
    const [rs] = h.replicaSetsOf("web");
    const hash = rs!.metadata.labels?.[podTemplateHashLabel];
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.spec?.selector?.matchLabels).toEqual({ app: "web", [podTemplateHashLabel]: hash });
    expect(h.podsOf("web").every((p) => p.metadata.labels?.[podTemplateHashLabel] === hash)).toBe(true);
    expect(h.podsOf("web").every((p) => p.metadata.name?.startsWith(`web-${hash}-`))).toBe(true);
  });

  it("respects minReadySeconds: old pods go only as new ones have been Ready long enough", async () => {
    const h = await started(
      deployment("web", { replicas: 3, maxSurge: 1, maxUnavailable: 0, minReadySeconds: 5 }),
    );
    await h.settle(10_000);
    expect(h.deployment("web").status?.availableReplicas).toBe(3);
    const { violations } = watchBounds(h, "web", 4, 3, 5);
    h.editDeployment("web", setImage("web:2"));
    await h.settle(10_000);
    h.cluster.afterChange = undefined;
    expect(violations).toEqual([]);
    expect(h.errors).toEqual([]);
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:2", "web:2", "web:2"]);
    expect(h.deployment("web").status).toMatchObject({ updatedReplicas: 3, availableReplicas: 3 });
  });

  it("with maxUnavailable 0 and failing readiness, stalls without losing old pods, then misses its deadline", async () => {
    const h = await started(
      deployment("web", {
        replicas: 4,
        maxSurge: 1,
        maxUnavailable: 0,
        progressDeadlineSeconds: 60,
        image: "web:1",
      }),
      new RolloutHarness({ healthy: (p) => imageOf(p) !== "web:bad" }),
    );
    const { violations } = watchBounds(h, "web", 5, 4);
    h.editDeployment("web", setImage("web:bad"));
    await h.settle();
    const pods = h.podsOf("web");
    expect(pods.filter((p) => imageOf(p) === "web:1")).toHaveLength(4);
    expect(pods.filter((p) => imageOf(p) === "web:bad")).toHaveLength(1);
    expect(condition(h.deployment("web"), "Progressing")).toMatchObject({
      status: "True",
      reason: "ReplicaSetUpdated",
    });
    expect(rolloutStatus(h.deployment("web")).done).toBe(false);
    await h.settle(120_000);
    const d = h.deployment("web");
    expect(condition(d, "Progressing")).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: expect.stringMatching(/^ReplicaSet "web-\w+" has timed out progressing\.$/),
    });
    expect(condition(d, "Available")).toMatchObject({ status: "True" });
    expect(rolloutStatus(d)).toEqual({
      done: true,
      failed: true,
      message: 'deployment "web" exceeded its progress deadline',
    });
    expect(violations).toEqual([]);
    expect(h.errors).toEqual([]);
    // Not opted in: nothing rolled back.
    expect(d.spec?.template?.spec?.containers?.[0]?.image).toBe("web:bad");
    expect(h.cluster.events.some((e) => e.reason === "DeploymentRollback")).toBe(false);
  });

  it("rolls back automatically on a missed deadline when opted in, with an event", async () => {
    const h = await started(
      deployment("web", {
        replicas: 4,
        maxSurge: 1,
        maxUnavailable: 0,
        progressDeadlineSeconds: 60,
        image: "web:1",
        annotations: { [autoRollbackAnnotation]: "true" },
      }),
      new RolloutHarness({ healthy: (p) => imageOf(p) !== "web:bad" }),
    );
    const { violations } = watchBounds(h, "web", 5, 4);
    h.editDeployment("web", setImage("web:bad"));
    await h.settle(120_000);
    await h.settle(120_000);
    h.cluster.afterChange = undefined;
    expect(violations).toEqual([]);
    expect(h.errors).toEqual([]);
    const d = h.deployment("web");
    expect(d.spec?.template?.spec?.containers?.[0]?.image).toBe("web:1");
    expect(d.metadata.annotations?.[revisionAnnotation]).toBe("3");
    const rollback = h.cluster.events.find((e) => e.reason === "DeploymentRollback");
    expect(rollback).toMatchObject({ type: "Warning", object: "default/web" });
    expect(rollback?.message).toMatch(
      /^Rolled back deployment "web" to revision 1 \(replica set web-\w+, 4 replicas\) because revision 2 \(replica set web-\w+\) missed its progress deadline of 60s$/,
    );
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:1", "web:1", "web:1", "web:1"]);
    const sets = h.replicaSetsOf("web");
    const good = sets.find((rs) => rs.spec?.template?.spec?.containers?.[0]?.image === "web:1")!;
    expect(good.metadata.annotations?.[revisionHistoryAnnotation]).toBe("1");
    expect(condition(d, "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
  });

  it("scales proportionally when replicas change mid-rollout", async () => {
    const h = await started(
      deployment("web", { replicas: 10, maxSurge: 3, maxUnavailable: 2 }),
      new RolloutHarness({ healthy: (p) => imageOf(p) !== "web:2" }),
    );
    h.editDeployment("web", setImage("web:2"));
    await h.settle();
    const before = h.replicaSetsOf("web").map((rs) => rs.spec?.replicas ?? 0);
    expect(before.reduce((a, b) => a + b, 0)).toBe(13);
    h.editDeployment("web", (d) => {
      d.spec!.replicas = 15;
    });
    await h.drain();
    const after = h.replicaSetsOf("web").map((rs) => rs.spec?.replicas ?? 0);
    // maxSurge stays 3 (an integer): 15 + 3 = 18 pods wanted in all, spread by size.
    expect(after.reduce((a, b) => a + b, 0)).toBe(18);
    expect(after.every((n, i) => n >= before[i]!)).toBe(true);
  });
});

describe("Recreate", () => {
  it("removes every old pod, terminating ones included, before the first new pod", async () => {
    const h = await started(
      deployment("web", { replicas: 3, strategy: { type: "Recreate" }, image: "web:1" }),
    );
    let sawGap = false;
    let sideBySide = 0;
    h.cluster.afterChange = () => {
      const all = h.cluster.storedList<Pod>(podsResource);
      const images = new Set(all.map(imageOf));
      if (images.has("web:1") && images.has("web:2")) sideBySide++;
      if (all.length === 0) sawGap = true;
    };
    h.editDeployment("web", setImage("web:2"));
    await h.settle();
    h.cluster.afterChange = undefined;
    expect(sideBySide).toBe(0);
    expect(h.errors).toEqual([]);
    expect(sawGap).toBe(true);
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:2", "web:2", "web:2"]);
    expect(condition(h.deployment("web"), "Progressing")).toMatchObject({ reason: "NewReplicaSetAvailable" });
    // Recreate allows no unavailability budget: Available is False while nothing runs, True after.
    expect(condition(h.deployment("web"), "Available")).toMatchObject({ status: "True" });
  });
});

describe("history, rollback and pause", () => {
  async function threeRevisions(opts: Parameters<typeof deployment>[1] = {}) {
    const h = await started(deployment("web", { replicas: 2, image: "web:1", ...opts }));
    for (const image of ["web:2", "web:3"]) {
      h.editDeployment("web", setImage(image));
      await h.settle();
    }
    return h;
  }

  it("rolls back to a chosen revision through planRollback, bumping that ReplicaSet's revision", async () => {
    const h = await threeRevisions();
    const plan = planRollback(h.deployment("web"), h.replicaSetsOf("web"), 1);
    expect(plan.kind).toBe("rollback");
    if (plan.kind !== "rollback") return;
    expect(plan.deployment.spec?.template?.metadata?.labels).toEqual({ app: "web" });
    await h.cluster.client.update(deploymentsResource, plan.deployment);
    await h.settle();
    const d = h.deployment("web");
    expect(d.metadata.annotations?.[revisionAnnotation]).toBe("4");
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:1", "web:1"]);
    const v1 = h.replicaSetsOf("web").find((rs) => rs.metadata.annotations?.[revisionAnnotation] === "4")!;
    expect(v1.metadata.annotations?.[revisionHistoryAnnotation]).toBe("1");
    expect(h.replicaSetsOf("web")).toHaveLength(3);
  });

  it("undo without a revision goes to the previous one; bad requests are refused with a reason", async () => {
    const h = await threeRevisions();
    const plan = planRollback(h.deployment("web"), h.replicaSetsOf("web"));
    expect(plan.kind === "rollback" && plan.revision).toBe(2);
    expect(() => planRollback(h.deployment("web"), h.replicaSetsOf("web"), 9)).toThrow(
      'deployment "web" has no revision 9 (revisions: 1, 2, 3)',
    );
    expect(planRollback(h.deployment("web"), h.replicaSetsOf("web"), 3)).toMatchObject({
      kind: "skipped",
      message: "skipped rollback (current template already matches revision 3)",
    });
    const paused = { ...h.deployment("web"), spec: { ...h.deployment("web").spec, paused: true } };
    expect(() => planRollback(paused, h.replicaSetsOf("web"))).toThrow(/cannot rollback a paused deployment/);
  });

  it("keeps only revisionHistoryLimit old ReplicaSets", async () => {
    const h = await threeRevisions({ revisionHistoryLimit: 1 });
    const revisions = h.replicaSetsOf("web").map((rs) => rs.metadata.annotations?.[revisionAnnotation]);
    expect(revisions.sort()).toEqual(["2", "3"]);
  });

  it("while paused, scales but does not roll; resuming rolls out the latest template", async () => {
    const h = await started(deployment("web", { replicas: 2, image: "web:1" }));
    h.editDeployment("web", (d) => {
      d.spec!.paused = true;
    });
    await h.settle();
    expect(condition(h.deployment("web"), "Progressing")).toMatchObject({
      status: "Unknown",
      reason: "DeploymentPaused",
      message: "Deployment is paused",
    });
    h.editDeployment("web", (d) => {
      setImage("web:2")(d);
      d.spec!.replicas = 3;
    });
    await h.settle();
    expect(h.replicaSetsOf("web")).toHaveLength(1);
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:1", "web:1", "web:1"]);
    h.editDeployment("web", (d) => {
      d.spec!.paused = false;
    });
    await h.drain();
    expect(condition(h.deployment("web"), "Progressing")?.reason).toMatch(
      /DeploymentResumed|NewReplicaSetCreated|ReplicaSetUpdated/,
    );
    await h.settle();
    expect(h.podsOf("web").map(imageOf)).toEqual(["web:2", "web:2", "web:2"]);
    expect(condition(h.deployment("web"), "Progressing")).toMatchObject({ reason: "NewReplicaSetAvailable" });
  });
});
