import { describe, expect, it } from "vitest";
import type { ContainerStatus, Pod } from "../../proto/gen/api.js";
import { computePodStatus, podPhase } from "./pod-status.js";

const running: ContainerStatus = { name: "a", state: { running: { startedAt: "t" } }, ready: true };
const waiting: ContainerStatus = {
  name: "a",
  state: { waiting: { reason: "ContainerCreating" } },
  ready: false,
};
const exited = (code: number): ContainerStatus => ({
  name: "a",
  state: { terminated: { exitCode: code } },
  ready: false,
});
const crashLoop: ContainerStatus = {
  name: "a",
  state: { waiting: { reason: "CrashLoopBackOff" } },
  lastState: { terminated: { exitCode: 1 } },
  ready: false,
};

function pod(restartPolicy: string, inits = 0): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      restartPolicy,
      initContainers: Array.from({ length: inits }, (_, i) => ({ name: `i${i}` })),
      containers: [{ name: "a" }],
    },
  };
}

describe("podPhase (the kubelet's getPhase)", () => {
  it.each([
    ["Always", [], [waiting], "Pending"],
    ["Always", [], [running], "Running"],
    ["Always", [], [crashLoop], "Running"],
    ["Always", [], [exited(0)], "Running"],
    ["OnFailure", [], [exited(0)], "Succeeded"],
    ["OnFailure", [], [exited(1)], "Running"],
    ["Never", [], [exited(0)], "Succeeded"],
    ["Never", [], [exited(1)], "Failed"],
    ["Never", [], [exited(0), { ...running, name: "b" }], "Running"],
    ["Always", [{ ...running, name: "i0" }], [waiting], "Pending"],
    ["Never", [{ ...exited(1), name: "i0" }], [waiting], "Failed"],
    ["Always", [{ ...exited(1), name: "i0" }], [waiting], "Pending"],
    ["Always", [{ ...exited(0), name: "i0" }], [running], "Running"],
  ] as const)("%s, init %j, containers %j → %s", (policy, inits, containers, want) => {
    expect(
      podPhase(pod(policy, inits.length), {
        initContainerStatuses: [...inits],
        containerStatuses: [...containers],
      }),
    ).toBe(want);
  });
});

describe("computePodStatus", () => {
  it("lists unready and uninitialised containers and keeps transition times of unchanged conditions", () => {
    const p = pod("Always", 1);
    const first = computePodStatus(
      p,
      {
        initContainerStatuses: [{ ...running, name: "i0", ready: false }],
        containerStatuses: [{ ...waiting, state: { waiting: { reason: "PodInitializing" } } }],
        podIP: "10.0.0.2",
        hostIP: "192.168.1.1",
        startTime: "T0",
      },
      undefined,
      "T1",
    );
    expect(first).toMatchObject({
      phase: "Pending",
      podIP: "10.0.0.2",
      podIPs: [{ ip: "10.0.0.2" }],
      hostIP: "192.168.1.1",
      startTime: "T0",
    });
    expect(first.conditions).toEqual([
      { type: "PodScheduled", status: "True", lastTransitionTime: "T1" },
      {
        type: "Initialized",
        status: "False",
        lastTransitionTime: "T1",
        reason: "ContainersNotInitialized",
        message: "containers with incomplete status: [i0]",
      },
      {
        type: "ContainersReady",
        status: "False",
        lastTransitionTime: "T1",
        reason: "ContainersNotReady",
        message: "containers with unready status: [a]",
      },
      {
        type: "Ready",
        status: "False",
        lastTransitionTime: "T1",
        reason: "ContainersNotReady",
        message: "containers with unready status: [a]",
      },
    ]);
    const second = computePodStatus(
      p,
      { initContainerStatuses: [{ ...exited(0), name: "i0" }], containerStatuses: [running] },
      first,
      "T2",
    );
    expect(second.phase).toBe("Running");
    expect(second.conditions!.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ["PodScheduled", "True", "T1"],
      ["Initialized", "True", "T2"],
      ["ContainersReady", "True", "T2"],
      ["Ready", "True", "T2"],
    ]);
  });

  it("a completed pod is not ready with reason PodCompleted", () => {
    const s = computePodStatus(
      pod("Never"),
      { initContainerStatuses: [], containerStatuses: [exited(0)] },
      undefined,
      "T",
    );
    expect(s.phase).toBe("Succeeded");
    expect(s.conditions!.find((c) => c.type === "Ready")).toEqual({
      type: "Ready",
      status: "False",
      lastTransitionTime: "T",
      reason: "PodCompleted",
    });
  });
});
