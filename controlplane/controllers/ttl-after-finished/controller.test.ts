import { describe, expect, it } from "vitest";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { Job } from "../../../proto/gen/api.js";
import { jobsResource } from "../job/index.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { t0 } from "../testing/fixtures.js";
import { TtlAfterFinishedController } from "./controller.js";

function finishedJob(ttl: number | undefined, finishedAt: number | undefined, condition = "Complete"): Job {
  const j: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "u1" },
    spec: {},
    status: {},
  };
  if (ttl !== undefined) j.spec!.ttlSecondsAfterFinished = ttl;
  if (finishedAt !== undefined)
    j.status!.conditions = [{ type: condition, status: "True", lastTransitionTime: rfc3339(finishedAt) }];
  return j;
}

function setup(job: Job) {
  const cluster = new FakeCluster();
  const c = new TtlAfterFinishedController({
    jobs: cluster.lister<Job>(jobsResource),
    client: cluster.client,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.seed(jobsResource, job);
  return { cluster, c };
}

describe("TTL-after-finished controller", () => {
  const cases: { name: string; job: Job; advance: number; deletes: boolean; waits?: number }[] = [
    { name: "no TTL: kept", job: finishedJob(undefined, t0), advance: 10_000, deletes: false },
    { name: "not finished: kept", job: finishedJob(5, undefined), advance: 10_000, deletes: false },
    {
      name: "TTL not yet passed: waits the rest",
      job: finishedJob(100, t0),
      advance: 40_000,
      deletes: false,
      waits: 60_000,
    },
    { name: "Complete and TTL passed: deleted", job: finishedJob(100, t0), advance: 100_000, deletes: true },
    {
      name: "Failed and TTL 0: deleted at once",
      job: finishedJob(0, t0, "Failed"),
      advance: 0,
      deletes: true,
    },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const { cluster, c } = setup(tc.job);
      cluster.clock.advance(tc.advance);
      await c.sync("default/pi");
      const deletes = cluster.takeActions().filter((a) => a.verb === "delete");
      expect(deletes.map((a) => `${a.resource} ${a.name}`)).toEqual(tc.deletes ? ["jobs pi"] : []);
      expect(cluster.queue.after).toEqual(tc.waits ? [["default/pi", tc.waits]] : []);
    });
  }

  it("decides again on a fresh read: a TTL raised meanwhile keeps the Job", async () => {
    const { cluster, c } = setup(finishedJob(10, t0));
    cluster.mutate<Job>(jobsResource, "default/pi", (j) => {
      j.spec!.ttlSecondsAfterFinished = 3600;
    });
    cluster.clock.advance(20_000);
    await c.sync("default/pi");
    expect(cluster.takeActions().map((a) => a.verb)).toEqual(["get"]);
    expect(cluster.queue.after).toEqual([["default/pi", 3_580_000]]);
  });
});
