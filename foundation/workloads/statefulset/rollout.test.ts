import { describe, expect, it } from "vitest";
import type { StatefulSet } from "../../../proto/gen/api.js";
import { newRevision } from "./revisions.js";
import { planStatefulSetRollback, statefulSetRolloutStatus } from "./rollout.js";

function set(status: NonNullable<StatefulSet["status"]>, partition = 0, image = "nginx:1"): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default", uid: "set-1", generation: 2 },
    spec: {
      replicas: 3,
      serviceName: "web",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image }] } },
    },
    status,
  };
}

describe("rollout status of a StatefulSet, as kubectl prints it", () => {
  it.each([
    {
      status: { observedGeneration: 1 },
      done: false,
      message: "Waiting for statefulset spec update to be observed...",
    },
    {
      status: { observedGeneration: 2, readyReplicas: 1 },
      done: false,
      message: "Waiting for 2 pods to be ready...",
    },
    {
      status: {
        observedGeneration: 2,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: "web-a",
        updateRevision: "web-b",
      },
      done: false,
      message: "waiting for statefulset rolling update to complete 1 pods at revision web-b...",
    },
    {
      status: {
        observedGeneration: 2,
        readyReplicas: 3,
        currentReplicas: 3,
        currentRevision: "web-b",
        updateRevision: "web-b",
      },
      done: true,
      message: "statefulset rolling update complete 3 pods at revision web-b...",
    },
  ])("$message", ({ status, done, message }) => {
    expect(statefulSetRolloutStatus(set(status))).toMatchObject({ done, message });
  });

  it("counts a partitioned rollout done once the pods above the partition are updated", () => {
    const s = { observedGeneration: 2, readyReplicas: 3, currentRevision: "web-a", updateRevision: "web-b" };
    expect(statefulSetRolloutStatus(set({ ...s, updatedReplicas: 0 }, 2)).message).toBe(
      "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
    );
    expect(statefulSetRolloutStatus(set({ ...s, updatedReplicas: 1 }, 2))).toMatchObject({
      done: true,
      message: "partitioned roll out complete: 1 new pods have been updated...",
    });
  });
});

describe("rollout undo of a StatefulSet", () => {
  const r1 = newRevision(set({}, 0, "nginx:1"), 1);
  const r2 = newRevision(set({}, 0, "nginx:2"), 2);
  for (const r of [r1, r2]) r.metadata.ownerReferences![0]!.uid = "set-1";

  it("puts the previous revision's template back", () => {
    const plan = planStatefulSetRollback(set({}, 0, "nginx:2"), [r2, r1], 0);
    expect(plan?.revision).toBe(1);
    expect(plan?.set.spec?.template?.spec?.containers?.[0]?.image).toBe("nginx:1");
  });

  it("says so when there is no such revision, and skips when the template is already that one", () => {
    expect(() => planStatefulSetRollback(set({}), [r1, r2], 7)).toThrow(
      "unable to find specified revision 7 in history",
    );
    expect(planStatefulSetRollback(set({}, 0, "nginx:1"), [r1, r2], 1)).toBeUndefined();
  });
});
