import { describe, expect, it } from "vitest";
import { template } from "../../../controlplane/controllers/testing/fixtures.js";
import type { DaemonSet, DaemonSetStatus } from "../../../proto/gen/api.js";
import { newRevision, templatePatch } from "../history/index.js";
import { daemonSetHistory, daemonSetRolloutStatus, planDaemonSetRollback } from "./rollout.js";

function ds(image: string, status: DaemonSetStatus = {}, generation = 2): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "fluentd", namespace: "default", uid: "ds-1", generation, resourceVersion: "7" },
    spec: {
      selector: { matchLabels: { app: "fluentd" } },
      template: template({ app: "fluentd" }, image),
      updateStrategy: { type: "RollingUpdate" },
    },
    status,
  };
}

describe("rollout status daemonset (kubectl's DaemonSetStatusViewer)", () => {
  it.each([
    [{ observedGeneration: 1 }, false, "Waiting for daemon set spec update to be observed..."],
    [
      { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 1 },
      false,
      'Waiting for daemon set "fluentd" rollout to finish: 1 out of 3 new pods have been updated...',
    ],
    [
      { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 },
      false,
      'Waiting for daemon set "fluentd" rollout to finish: 2 of 3 updated pods are available...',
    ],
    [
      { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 },
      true,
      'daemon set "fluentd" successfully rolled out',
    ],
  ] as [DaemonSetStatus, boolean, string][])("%j: done=%s", (status, done, message) => {
    expect(daemonSetRolloutStatus(ds("f:2", status))).toEqual({ done, failed: false, message });
  });
});

describe("rollout history and undo daemonset", () => {
  const owner = ds("f:3");
  const revs = ["f:1", "f:2", "f:3"].map((image, i) =>
    newRevision(owner, { app: "fluentd" }, templatePatch(template({ app: "fluentd" }, image)), i + 1),
  );
  const foreign = newRevision({ ...owner, metadata: { ...owner.metadata, uid: "other" } }, {}, {}, 9);

  it("lists the DaemonSet's own revisions, oldest first", () => {
    expect(daemonSetHistory(owner, [revs[2]!, foreign, revs[0]!, revs[1]!]).map((e) => e.revision)).toEqual([
      1, 2, 3,
    ]);
  });

  it("undo goes to the revision before the newest, or the one named; skips a template already current", () => {
    const plan = planDaemonSetRollback(owner, revs, 0);
    expect(plan.kind === "rollback" && plan.daemonSet.spec?.template?.spec?.containers?.[0]?.image).toBe(
      "f:2",
    );
    expect(plan.kind === "rollback" && plan.daemonSet.metadata.resourceVersion).toBe("7");
    const to1 = planDaemonSetRollback(owner, revs, 1);
    expect(to1.kind === "rollback" && to1.daemonSet.spec?.template?.spec?.containers?.[0]?.image).toBe("f:1");
    expect(planDaemonSetRollback(owner, revs, 3)).toEqual({
      kind: "skipped",
      revision: 3,
      message: "skipped rollback (current template already matches revision 3)",
    });
  });

  it("refuses with kubectl's messages when there is nothing to go back to", () => {
    expect(() => planDaemonSetRollback(owner, revs.slice(0, 1), 0)).toThrow(
      "no last revision to roll back to",
    );
    expect(() => planDaemonSetRollback(owner, revs, 7)).toThrow(
      "unable to find specified revision 7 in history",
    );
  });
});
