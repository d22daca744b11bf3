import { describe, expect, it } from "vitest";
import {
  computeHash,
  equalIgnoreHash,
  podTemplateHashLabel,
} from "../../../foundation/workloads/deployment/hash.js";
import { rolloutStatus } from "../../../foundation/workloads/deployment/rollout-status.js";
import type { Deployment } from "../../../proto/gen/api.js";
import { deployment } from "../testing/fixtures.js";
import { maxSurge, maxUnavailable, resolveFenceposts } from "./fenceposts.js";

describe("pod-template-hash", () => {
  const t = deployment("web").spec!.template!;
  it("is stable, short and made of the safe alphabet", () => {
    expect(computeHash(t)).toBe(computeHash(structuredClone(t)));
    expect(computeHash(t)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });
  it("ignores key order, empty fields and its own label, but not real changes", () => {
    const reordered = { spec: t.spec!, metadata: { annotations: {}, labels: { ...t.metadata!.labels } } };
    expect(computeHash(reordered)).toBe(computeHash(t));
    const labelled = structuredClone(t);
    labelled.metadata!.labels![podTemplateHashLabel] = "abc";
    expect(computeHash(labelled)).toBe(computeHash(t));
    expect(equalIgnoreHash(labelled, t)).toBe(true);
    const changed = structuredClone(t);
    changed.spec!.containers![0]!.image = "nginx:2";
    expect(computeHash(changed)).not.toBe(computeHash(t));
    expect(equalIgnoreHash(changed, t)).toBe(false);
  });
  it("changes with the collision count", () => {
    expect(new Set([computeHash(t), computeHash(t, 1), computeHash(t, 2)]).size).toBe(3);
    expect(computeHash(t, 0)).toBe(computeHash(t));
  });
});

describe("maxSurge / maxUnavailable", () => {
  const cases: {
    replicas: number;
    surge: number | string;
    unavailable: number | string;
    want: [number, number];
  }[] = [
    { replicas: 10, surge: "25%", unavailable: "25%", want: [3, 2] },
    { replicas: 4, surge: "25%", unavailable: "25%", want: [1, 1] },
    { replicas: 1, surge: 0, unavailable: "25%", want: [0, 1] },
    { replicas: 3, surge: 2, unavailable: 0, want: [2, 0] },
    { replicas: 2, surge: "100%", unavailable: 5, want: [2, 2] },
  ];
  it.each(cases)(
    "replicas $replicas, surge $surge, unavailable $unavailable → $want",
    ({ replicas, surge, unavailable, want }) => {
      const d = deployment("web", { replicas, maxSurge: surge, maxUnavailable: unavailable });
      expect([maxSurge(d), maxUnavailable(d)]).toEqual(want);
    },
  );
  it("Recreate has neither", () => {
    const d = deployment("web", { replicas: 4, strategy: { type: "Recreate" } });
    expect([maxSurge(d), maxUnavailable(d)]).toEqual([0, 0]);
  });
  it("names the field of a bad value", () => {
    const d = deployment("web", { maxSurge: "lots" });
    expect(() => resolveFenceposts(d)).toThrow(
      'spec.strategy.rollingUpdate.maxSurge: invalid value "lots": must be a non-negative integer or a percentage like "25%"',
    );
  });
});

describe("rollout status messages", () => {
  const d = (status: NonNullable<Deployment["status"]>, generation = 1): Deployment => ({
    ...deployment("web", { replicas: 3 }),
    metadata: { name: "web", generation },
    status,
  });
  it.each([
    [d({ observedGeneration: 1 }, 2), false, "Waiting for deployment spec update to be observed..."],
    [
      d({ observedGeneration: 1, updatedReplicas: 1, replicas: 4 }),
      false,
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    ],
    [
      d({ observedGeneration: 1, updatedReplicas: 3, replicas: 4 }),
      false,
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    ],
    [
      d({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }),
      false,
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
    ],
    [
      d({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
      true,
      'deployment "web" successfully rolled out',
    ],
  ])("%#: %s", (dep, done, message) => {
    expect(rolloutStatus(dep)).toEqual({ done, failed: false, message });
  });
  it("fails on a missed deadline", () => {
    const dep = d({
      observedGeneration: 1,
      conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
    });
    expect(rolloutStatus(dep)).toEqual({
      done: true,
      failed: true,
      message: 'deployment "web" exceeded its progress deadline',
    });
  });
});
