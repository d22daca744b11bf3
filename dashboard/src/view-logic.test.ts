import { describe, expect, it } from "vitest";
import { hostBoxes, podTone } from "./cluster-map";
import { pauseWrite, restartWrite, scaleWrite, undoWrite } from "./deployment-actions";
import type { Deployment, Node, Pod, ReplicaSet } from "./kube-types";
import { parseQuantity } from "./quantity";
import { addSample, chartSeries, ownedReplicaSets, rolloutBounds, rolloutPhase } from "./rollout";

const pod = (
  name: string,
  nodeName: string | undefined,
  phase: string,
  ready = true,
  extra: Partial<Pod["metadata"]> = {},
): Pod => ({
  metadata: { name, namespace: "demo", ...extra },
  spec: { containers: [], ...(nodeName ? { nodeName } : {}) },
  status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

const node = (name: string, ready: boolean, unreachable = false): Node => ({
  metadata: { name },
  spec: unreachable ? { taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] } : {},
  status: {
    conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }],
    allocatable: { cpu: "2", memory: "4Gi" },
  },
});

describe("cluster map", () => {
  it("colours pods by what an operator asks first", () => {
    expect(
      [
        pod("a", "n1", "Running"),
        pod("b", "n1", "Running", false),
        pod("c", undefined, "Pending"),
        pod("d", "n1", "Failed"),
        pod("e", "n1", "Succeeded"),
        pod("f", "n1", "Running", true, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
      ].map(podTone),
    ).toEqual(["ready", "unready", "pending", "failed", "succeeded", "terminating"]);
  });

  it("puts pods in their hosts' boxes, marks lost and unlisted hosts, and reads usage against allocatable", () => {
    const { hosts, unplaced } = hostBoxes(
      [node("n2", false, true), node("n1", true)],
      [
        pod("b", "n1", "Running"),
        pod("a", "n1", "Running"),
        pod("c", undefined, "Pending"),
        pod("z", "gone", "Running"),
      ],
      [
        { metadata: { name: "n1" }, usage: { cpu: "500m", memory: "1Gi" } },
        { metadata: { name: "n2" }, usage: { cpu: "1", memory: "1Gi" } },
      ],
    );
    expect(
      hosts.map((h) => [h.name, h.listed, h.ready, h.unreachable, h.pods.map((p) => p.metadata.name)]),
    ).toEqual([
      ["n1", true, true, false, ["a", "b"]],
      ["n2", true, false, true, []],
      ["gone", false, false, false, ["z"]],
    ]);
    expect(hosts[0]!.cpu?.fraction).toBe(0.25);
    expect(hosts[0]!.memory?.fraction).toBe(0.25);
    expect(hosts[1]!.cpu).toBeUndefined();
    expect(unplaced.map((p) => p.metadata.name)).toEqual(["c"]);
  });

  it("parses quantities", () => {
    expect([parseQuantity("250m"), parseQuantity("2"), parseQuantity("1Ki"), parseQuantity("5x")]).toEqual([
      0.25,
      2,
      1024,
      undefined,
    ]);
  });
});

const deployment = (
  over: Partial<Deployment["spec"]> = {},
  status: Deployment["status"] = {},
): Deployment => ({
  metadata: { name: "web", namespace: "demo", uid: "d1", generation: 2 },
  spec: { replicas: 10, template: { spec: { containers: [] } }, ...over },
  status,
});

const rs = (name: string, revision: number, ready: number, owner = "d1"): ReplicaSet => ({
  metadata: {
    name,
    namespace: "demo",
    annotations: { "deployment.kubernetes.io/revision": String(revision) },
    ownerReferences: [{ kind: "Deployment", name: "web", uid: owner, controller: true }],
  },
  spec: {
    replicas: ready,
    template: { metadata: { labels: { app: "web", "pod-template-hash": name } }, spec: { containers: [] } },
  },
  status: { readyReplicas: ready },
});

describe("rollout", () => {
  it.each([
    [{}, 13, 8],
    [{ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }, 10, 9],
    [{ strategy: { rollingUpdate: { maxSurge: "50%", maxUnavailable: 3 } } }, 15, 7],
    [{ strategy: { type: "Recreate" } }, 10, 0],
  ] as [Partial<Deployment["spec"]>, number, number][])(
    "bounds of %j: at most %i, at least %i",
    (spec, max, min) => {
      const b = rolloutBounds(deployment(spec));
      expect([b.maxTotal, b.minAvailable]).toEqual([max, min]);
    },
  );

  it("tells a finished rollout from one in progress or paused", () => {
    const done = { observedGeneration: 2, replicas: 10, updatedReplicas: 10, availableReplicas: 10 };
    expect(rolloutPhase(deployment({}, done))).toBe("complete");
    expect(rolloutPhase(deployment({}, { ...done, observedGeneration: 1 }))).toBe("progressing");
    expect(rolloutPhase(deployment({}, { ...done, updatedReplicas: 4 }))).toBe("progressing");
    expect(rolloutPhase(deployment({ paused: true }, done))).toBe("paused");
  });

  it("orders owned ReplicaSets by revision and samples only changes", () => {
    const owned = ownedReplicaSets(deployment(), [rs("old", 1, 10), rs("new", 2, 0), rs("other", 9, 1, "x")]);
    expect(owned.map((r) => r.metadata.name)).toEqual(["new", "old"]);
    let samples = addSample([], 1000, owned);
    expect(addSample(samples, 2000, owned)).toBe(samples);
    samples = addSample(samples, 3000, [rs("old", 1, 8), rs("new", 2, 3)]);
    expect(samples.map((s) => [s.t, s.ready])).toEqual([
      [1000, { new: 0, old: 10 }],
      [3000, { new: 3, old: 8 }],
    ]);
    const [newLine, oldLine] = chartSeries(samples, ["new", "old"], 5000, 100, 50, 10);
    expect(newLine!.points).toBe("0.0,50.0 50.0,50.0 50.0,35.0 100.0,35.0");
    expect(oldLine!.points).toBe("0.0,0.0 50.0,0.0 50.0,10.0 100.0,10.0");
  });

  it("undoes to the newest older revision, without the controller's hash label, and checks scale input", () => {
    const write = undoWrite(deployment(), [rs("c", 3, 0), rs("a", 1, 0), rs("b", 2, 10)])!;
    expect(write.question).toBe("Roll web back to revision 2?");
    expect(write.body).toEqual([
      {
        op: "replace",
        path: "/spec/template",
        value: { metadata: { labels: { app: "web" } }, spec: { containers: [] } },
      },
    ]);
    expect(undoWrite(deployment(), [rs("a", 1, 0)])).toBeUndefined();
    expect(scaleWrite(deployment(), 3).body).toEqual({ spec: { replicas: 3 } });
    expect(() => scaleWrite(deployment(), -1)).toThrow(
      "replicas must be a whole number of at least 0, not -1",
    );
    expect(() => scaleWrite(deployment(), 1.5)).toThrow(RangeError);
    expect(pauseWrite(deployment(), true).body).toEqual({ spec: { paused: true } });
    expect(pauseWrite(deployment({ paused: true }), false).question).toBe("Resume the rollout of web?");
    expect(restartWrite(deployment(), new Date("2026-12-07T03:00:00Z")).body).toEqual({
      spec: {
        template: {
          metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-07T03:00:00.000Z" } },
        },
      },
    });
  });
});
