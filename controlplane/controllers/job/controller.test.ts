import { describe, expect, it } from "vitest";
import { definedFields } from "../../../foundation/api/object.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { Job, JobSpec, Pod } from "../../../proto/gen/api.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { controllerRef, t0 } from "../testing/fixtures.js";
import { JobController, jobsResource, podsResource } from "./controller.js";
import { completionIndexAnnotation, trackingFinalizer } from "./pod-template.js";

const uid = "job-uid";
const labels = { "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi" };

/** Overrides of the default Job's spec; an undefined value removes the default. */
type SpecOverrides = { [K in keyof JobSpec]?: JobSpec[K] | undefined };

function job(spec: SpecOverrides = {}, status: NonNullable<Job["status"]> = {}): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid },
    spec: definedFields({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        metadata: { labels },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["true"] }] },
      },
      ...spec,
    }),
    status,
  };
}

interface PodState {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  /** Exit code of container "main", with its finish time. */
  exit?: number;
  finished?: number;
  index?: number;
  tracked?: boolean;
  deleting?: boolean;
  ready?: boolean;
}

function jobPod(name: string, s: PodState = {}): Pod {
  const owner = job();
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: { ...labels },
      ownerReferences: [controllerRef(owner)],
      creationTimestamp: rfc3339(t0),
    },
    spec: { nodeName: "n1", containers: [{ name: "main", image: "busybox" }] },
    status: { phase: s.phase ?? "Running" },
  };
  if (s.tracked !== false) p.metadata.finalizers = [trackingFinalizer];
  if (s.index !== undefined) p.metadata.annotations = { [completionIndexAnnotation]: String(s.index) };
  if (s.deleting) p.metadata.deletionTimestamp = rfc3339(t0);
  if (s.ready) p.status!.conditions = [{ type: "Ready", status: "True" }];
  if (s.exit !== undefined) {
    p.status!.containerStatuses = [
      {
        name: "main",
        state: { terminated: { exitCode: s.exit, finishedAt: rfc3339(s.finished ?? t0) } },
      },
    ];
  }
  return p;
}

const succeeded = (name: string, o: PodState = {}) => jobPod(name, { phase: "Succeeded", exit: 0, ...o });
const failed = (name: string, o: PodState = {}) => jobPod(name, { phase: "Failed", exit: 1, ...o });

function setup(j: Job, pods: Pod[] = []) {
  const cluster = new FakeCluster();
  const jc = new JobController({
    pods: cluster.lister<Pod>(podsResource),
    jobs: cluster.lister<Job>(jobsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.addHandler(podsResource, jc.podHandler);
  cluster.addHandler(jobsResource, jc.jobHandler);
  cluster.seed(jobsResource, j);
  cluster.seed(podsResource, ...pods);
  return { cluster, jc };
}

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;
const stored = (cluster: FakeCluster) => cluster.stored<Job>(jobsResource, "default/pi")!;
const conditionsOf = (j: Job) => (j.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}`);

describe("Job controller: running pods", () => {
  it("creates `parallelism` pods from the template, tracked by finalizer and owned by the Job", async () => {
    const { cluster, jc } = setup(job({ completions: 6, parallelism: 3 }));
    await jc.sync("default/pi");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "create pods pi-bbbbb",
      "create pods pi-cbbbb",
      "create pods pi-dbbbb",
      "updateStatus jobs pi",
    ]);
    const pod = actions[0]!.body as Pod;
    expect(pod.metadata).toMatchObject({
      generateName: "pi-",
      labels,
      finalizers: [trackingFinalizer],
      ownerReferences: [{ kind: "Job", name: "pi", uid, controller: true, blockOwnerDeletion: true }],
    });
    expect(stored(cluster).status).toMatchObject({
      startTime: rfc3339(t0),
      active: 0,
      ready: 0,
      terminating: 0,
      succeeded: 0,
      failed: 0,
    });
    expect(cluster.events.map((e) => e.reason)).toEqual([
      "SuccessfulCreate",
      "SuccessfulCreate",
      "SuccessfulCreate",
    ]);
  });

  const wants: { name: string; spec: SpecOverrides; pods: Pod[]; creates: number; deletes: number }[] = [
    {
      name: "completions left cap the pods running",
      spec: { completions: 4, parallelism: 3 },
      pods: [succeeded("a", { tracked: false }), succeeded("b", { tracked: false }), jobPod("c")],
      creates: 1,
      deletes: 0,
    },
    {
      name: "lowering parallelism stops the surplus",
      spec: { completions: 10, parallelism: 1 },
      pods: [jobPod("a", { ready: true }), jobPod("b")],
      creates: 0,
      deletes: 1,
    },
    {
      name: "a work queue (no completions) starts no more pods after a success",
      spec: { completions: undefined, parallelism: 3 },
      pods: [succeeded("a", { tracked: false }), jobPod("b")],
      creates: 0,
      deletes: 0,
    },
    {
      name: "podReplacementPolicy Failed waits for terminating pods to fail",
      spec: { completions: 2, parallelism: 2, podReplacementPolicy: "Failed" },
      pods: [jobPod("a"), jobPod("b", { deleting: true })],
      creates: 0,
      deletes: 0,
    },
  ];
  for (const w of wants) {
    it(w.name, async () => {
      // The finished pods above were counted already (no finalizer): status holds them.
      const counted = w.pods.filter((p) => p.status?.phase === "Succeeded").length;
      const { cluster, jc } = setup(job(w.spec, { succeeded: counted, startTime: rfc3339(t0) }), w.pods);
      await jc.sync("default/pi");
      const actions = cluster.takeActions();
      expect(actions.filter((a) => a.verb === "create")).toHaveLength(w.creates);
      expect(actions.filter((a) => a.verb === "delete")).toHaveLength(w.deletes);
    });
  }
});

describe("Job controller: counting finished pods once", () => {
  it("records a finished pod as uncounted, removes its finalizer, then counts it and replaces it", async () => {
    const { cluster, jc } = setup(job({ completions: 2 }, { startTime: rfc3339(t0) }), [succeeded("a")]);
    await jc.sync("default/pi");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "updateStatus jobs pi",
      "patch pods a",
      "create pods pi-bbbbb",
      "updateStatus jobs pi",
    ]);
    expect((actions[0]!.body as Job).status?.uncountedTerminatedPods).toEqual({ succeeded: ["uid-a"] });
    expect(actions[1]!.body).toMatchObject({ metadata: { finalizers: null } });
    expect(stored(cluster).status).toMatchObject({ succeeded: 1, failed: 0, uncountedTerminatedPods: {} });
  });

  it("a cache still showing the finalizer does not count the pod twice", async () => {
    const { cluster, jc } = setup(job({ completions: 3 }, { startTime: rfc3339(t0) }), [succeeded("a")]);
    await jc.sync("default/pi");
    cluster.takeActions();
    // The informer delivers the Job's new status but not yet the pod without its finalizer.
    cluster.mutate<Pod>(podsResource, "default/a", (p) => {
      p.metadata.finalizers = [trackingFinalizer];
    });
    cluster.flush();
    await jc.sync("default/pi");
    expect(stored(cluster).status?.succeeded).toBe(1);
  });

  it("a pod deleted while running counts as failed", async () => {
    const { cluster, jc } = setup(job({ completions: 1 }, { startTime: rfc3339(t0) }), [
      jobPod("a", { deleting: true }),
    ]);
    await jc.sync("default/pi");
    expect(stored(cluster).status).toMatchObject({ failed: 1, terminating: 1, active: 0 });
  });
});

describe("Job controller: finishing", () => {
  it("enough successes: SuccessCriteriaMet, then Complete with completionTime and a Completed event", async () => {
    const { cluster, jc } = setup(job({ completions: 2, parallelism: 2 }, { startTime: rfc3339(t0) }), [
      succeeded("a"),
      succeeded("b"),
    ]);
    cluster.clock.advance(5000);
    await jc.sync("default/pi");
    const j = stored(cluster);
    expect(conditionsOf(j)).toEqual([
      "SuccessCriteriaMet=True CompletionsReached",
      "Complete=True CompletionsReached",
    ]);
    expect(j.status).toMatchObject({ succeeded: 2, completionTime: rfc3339(t0 + 5000) });
    expect(cluster.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual([
      "Normal Completed Job completed",
    ]);
  });

  const failures: {
    name: string;
    spec: JobSpec;
    pods: Pod[];
    advance?: number;
    reason: string;
    message: string;
  }[] = [
    {
      name: "more failures than backoffLimit",
      spec: { backoffLimit: 1 },
      pods: [failed("a"), failed("b")],
      reason: "BackoffLimitExceeded",
      message: "Job has reached the specified backoff limit",
    },
    {
      name: "activeDeadlineSeconds passed",
      spec: { activeDeadlineSeconds: 30 },
      pods: [],
      advance: 30_000,
      reason: "DeadlineExceeded",
      message: "Job was active longer than specified deadline",
    },
    {
      name: "a FailJob pod failure policy rule on exit code 42",
      spec: {
        podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }] },
        podReplacementPolicy: "Failed",
      },
      pods: [failed("a", { exit: 42 })],
      reason: "PodFailurePolicy",
      message: "Container main for pod default/a failed with exit code 42 matching FailJob rule at index 0",
    },
  ];
  for (const f of failures) {
    it(`${f.name}: FailureTarget, then Failed once no pod runs`, async () => {
      const { cluster, jc } = setup(job(f.spec, { startTime: rfc3339(t0) }), [...f.pods, jobPod("running")]);
      if (f.advance) cluster.clock.advance(f.advance);
      await jc.sync("default/pi");
      const first = stored(cluster);
      expect(conditionsOf(first)).toEqual([`FailureTarget=True ${f.reason}`]);
      expect(
        cluster
          .takeActions()
          .filter((a) => a.verb === "delete")
          .map(brief),
      ).toEqual(["delete pods running"]);
      cluster.flush();
      await jc.sync("default/pi");
      expect(conditionsOf(stored(cluster))).toEqual([
        `FailureTarget=True ${f.reason}`,
        `Failed=True ${f.reason}`,
      ]);
      expect(stored(cluster).status?.conditions?.[1]?.message).toBe(f.message);
      expect(
        cluster.events.filter((e) => e.type === "Warning").map((e) => `${e.reason} ${e.message}`),
      ).toEqual([`${f.reason} ${f.message}`]);
    });
  }

  it("an Ignore rule does not count the failure and replaces the pod", async () => {
    const spec: JobSpec = {
      podFailurePolicy: { rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [137] } }] },
      podReplacementPolicy: "Failed",
      backoffLimit: 0,
    };
    const { cluster, jc } = setup(job(spec, { startTime: rfc3339(t0) }), [failed("a", { exit: 137 })]);
    await jc.sync("default/pi");
    expect(cluster.takeActions().map(brief)).toEqual([
      "patch pods a",
      "create pods pi-bbbbb",
      "updateStatus jobs pi",
    ]);
    expect(stored(cluster).status).toMatchObject({ failed: 0 });
    expect(stored(cluster).status?.conditions).toBeUndefined();
  });

  it("a finished Job only releases its pods' finalizers", async () => {
    const done = { conditions: [{ type: "Complete", status: "True" }] };
    const { cluster, jc } = setup(job({}, done), [succeeded("a")]);
    await jc.sync("default/pi");
    expect(cluster.takeActions().map(brief)).toEqual(["patch pods a"]);
  });
});

describe("Job controller: backoff between retries", () => {
  const cases: { failures: number; elapsed: number; wait: number | undefined }[] = [
    { failures: 1, elapsed: 0, wait: 10_000 },
    { failures: 1, elapsed: 4_000, wait: 6_000 },
    { failures: 3, elapsed: 0, wait: 40_000 },
    { failures: 8, elapsed: 0, wait: 600_000 },
    { failures: 1, elapsed: 10_000, wait: undefined },
  ];
  for (const c of cases) {
    it(`${c.failures} failure(s), ${c.elapsed / 1000}s ago: ${c.wait === undefined ? "creates at once" : `waits ${c.wait / 1000}s`}`, async () => {
      const pods = Array.from({ length: c.failures }, (_, i) => failed(`f${i}`, { tracked: false }));
      const { cluster, jc } = setup(
        job({ backoffLimit: 10 }, { failed: c.failures, startTime: rfc3339(t0) }),
        pods,
      );
      cluster.clock.advance(c.elapsed);
      await jc.sync("default/pi");
      const creates = cluster.takeActions().filter((a) => a.verb === "create");
      expect(creates).toHaveLength(c.wait === undefined ? 1 : 0);
      expect(cluster.queue.after).toEqual(c.wait === undefined ? [] : [["default/pi", c.wait]]);
    });
  }
});

describe("Job controller: Indexed mode", () => {
  it("creates one pod per pending index, lowest first, with its index, hostname and JOB_COMPLETION_INDEX", async () => {
    const spec: JobSpec = { completionMode: "Indexed", completions: 5, parallelism: 2 };
    const { cluster, jc } = setup(
      job(spec, { completedIndexes: "0", succeeded: 1, startTime: rfc3339(t0) }),
      [jobPod("pi-2-x", { index: 2 })],
    );
    await jc.sync("default/pi");
    const creates = cluster.takeActions().filter((a) => a.verb === "create");
    expect(creates).toHaveLength(1);
    const pod = creates[0]!.body as Pod;
    expect(pod.metadata.generateName).toBe("pi-1-");
    expect(pod.metadata.annotations).toEqual({ [completionIndexAnnotation]: "1" });
    expect(pod.metadata.labels?.[completionIndexAnnotation]).toBe("1");
    expect(pod.spec?.hostname).toBe("pi-1");
    expect(pod.spec?.containers?.[0]?.env).toEqual([
      {
        name: "JOB_COMPLETION_INDEX",
        valueFrom: {
          fieldRef: {
            apiVersion: "v1",
            fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
          },
        },
      },
    ]);
  });

  it("a success completes its index once; a second pod of a completed index is stopped", async () => {
    const spec: JobSpec = { completionMode: "Indexed", completions: 3, parallelism: 3 };
    const { cluster, jc } = setup(
      job(spec, { completedIndexes: "0", succeeded: 1, startTime: rfc3339(t0) }),
      [succeeded("pi-2-a", { index: 2 }), jobPod("pi-0-b", { index: 0 }), jobPod("pi-1-c", { index: 1 })],
    );
    await jc.sync("default/pi");
    const actions = cluster.takeActions();
    expect(actions.filter((a) => a.verb === "delete").map(brief)).toEqual(["delete pods pi-0-b"]);
    expect(actions.filter((a) => a.verb === "create")).toHaveLength(0);
    expect(stored(cluster).status).toMatchObject({ completedIndexes: "0,2", succeeded: 2 });
  });

  it("completes when every index has succeeded, or early when a success policy matches", async () => {
    const spec: JobSpec = {
      completionMode: "Indexed",
      completions: 4,
      parallelism: 2,
      successPolicy: { rules: [{ succeededIndexes: "0", succeededCount: 1 }] },
    };
    const { cluster, jc } = setup(job(spec, { startTime: rfc3339(t0) }), [succeeded("pi-0-a", { index: 0 })]);
    await jc.sync("default/pi");
    expect(conditionsOf(stored(cluster))).toEqual([
      "SuccessCriteriaMet=True SuccessPolicy",
      "Complete=True SuccessPolicy",
    ]);
  });
});

describe("Job controller: suspend and resume", () => {
  it("suspending stops the pods and sets Suspended; resuming restarts the clock and the pods", async () => {
    const { cluster, jc } = setup(job({ suspend: true, completions: 2 }, { startTime: rfc3339(t0) }), [
      jobPod("a"),
    ]);
    await jc.sync("default/pi");
    expect(cluster.takeActions().filter((a) => a.verb === "delete")).toHaveLength(1);
    expect(conditionsOf(stored(cluster))).toEqual(["Suspended=True JobSuspended"]);
    // The pod stopped by the suspension is not a failure.
    cluster.flush();
    expect(stored(cluster).status?.failed).toBe(0);
    cluster.mutate<Job>(jobsResource, "default/pi", (j) => {
      j.spec!.suspend = false;
    });
    cluster.flush();
    cluster.clock.advance(60_000);
    await jc.sync("default/pi");
    expect(cluster.takeActions().filter((a) => a.verb === "create")).toHaveLength(1);
    expect(conditionsOf(stored(cluster))).toEqual(["Suspended=False JobResumed"]);
    expect(stored(cluster).status?.startTime).toBe(rfc3339(t0 + 60_000));
    expect(cluster.events.map((e) => e.reason)).toEqual([
      "SuccessfulDelete",
      "Suspended",
      "Resumed",
      "SuccessfulCreate",
    ]);
  });
});

describe("Job controller: pods outliving their Job", () => {
  it("releases the finalizers of pods whose Job is gone", async () => {
    const { cluster, jc } = setup(job(), [jobPod("a")]);
    cluster.finishTermination(jobsResource, "default/pi");
    cluster.flush();
    await jc.sync("default/pi");
    expect(cluster.takeActions().map(brief)).toEqual(["patch pods a"]);
    expect(cluster.stored<Pod>(podsResource, "default/a")?.metadata.finalizers).toBeUndefined();
  });
});
