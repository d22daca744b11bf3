import { describe, expect, it } from "vitest";
import { parseCronSchedule } from "../../../foundation/api/cron-schedule.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { CronJob, CronJobSpec, Job } from "../../../proto/gen/api.js";
import { jobsResource } from "../job/index.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { controllerRef, t0 } from "../testing/fixtures.js";
import { CronJobController, cronJobsResource } from "./controller.js";
import { jobFromTemplate, rfc3339In } from "./job-from-template.js";
import { dueTime } from "./schedule-times.js";

const minute = 60_000;
// t0 is 2024-01-01T00:00:00Z: minute 28401120 since the epoch.
const t0Minutes = t0 / minute;

function cronJob(spec: CronJobSpec = {}, status: CronJob["status"] = {}): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default", uid: "cj-uid", creationTimestamp: rfc3339(t0 - 30_000) },
    spec: {
      schedule: "*/1 * * * *",
      timeZone: "UTC",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: "tick" } },
        spec: {
          template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
        },
      },
      ...spec,
    },
    status,
  };
}

/** A Job this CronJob started at minute `m` (relative to t0), running or finished. */
function ownedJob(m: number, state: "running" | "Complete" | "Failed" = "running"): Job {
  const scheduled = t0 + m * minute;
  const j: Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `tick-${t0Minutes + m}`,
      namespace: "default",
      uid: `job-${m}`,
      ownerReferences: [controllerRef(cronJob())],
    },
    spec: {},
    status: { startTime: rfc3339(scheduled) },
  };
  if (state !== "running") {
    j.status!.conditions = [{ type: state, status: "True" }];
    if (state === "Complete") j.status!.completionTime = rfc3339(scheduled + 5_000);
  }
  return j;
}

const ref = (m: number) => ({
  apiVersion: "batch/v1",
  kind: "Job",
  namespace: "default",
  name: `tick-${t0Minutes + m}`,
  uid: `job-${m}`,
});

function setup(cj: CronJob, jobs: Job[] = []) {
  const cluster = new FakeCluster();
  const c = new CronJobController({
    jobs: cluster.lister<Job>(jobsResource),
    cronJobs: cluster.lister<CronJob>(cronJobsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.seed(cronJobsResource, cj);
  cluster.seed(jobsResource, ...jobs);
  return { cluster, c };
}

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;
const stored = (cluster: FakeCluster) => cluster.stored<CronJob>(cronJobsResource, "default/tick")!;

describe("CronJob controller: starting runs", () => {
  it("at the scheduled minute creates the Job named for it, records it active and requeues for the next", async () => {
    const { cluster, c } = setup(cronJob());
    cluster.clock.advance(1_000);
    await c.sync("default/tick");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([`create jobs tick-${t0Minutes}`, "updateStatus cronjobs tick"]);
    const job = actions[0]!.body as Job;
    expect(job.metadata).toMatchObject({
      labels: { app: "tick" },
      annotations: { "batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-01-01T00:00:00Z" },
      ownerReferences: [{ kind: "CronJob", name: "tick", uid: "cj-uid", controller: true }],
    });
    expect(stored(cluster).status).toMatchObject({
      lastScheduleTime: rfc3339(t0),
      active: [{ kind: "Job", name: `tick-${t0Minutes}` }],
    });
    expect(cluster.events.map((e) => `${e.reason} ${e.message}`)).toEqual([
      `SuccessfulCreate Created job tick-${t0Minutes}`,
    ]);
    expect(cluster.queue.after).toEqual([["default/tick", 59_000 + 100]]);
  });

  type Case = {
    name: string;
    spec?: CronJobSpec;
    status?: CronJob["status"];
    jobs?: Job[];
    at: number;
    creates: string[];
    deletes?: string[];
    event?: string;
  };
  const cases: Case[] = [
    { name: "before the first scheduled time: nothing", at: -10_000, creates: [] },
    {
      name: "already started this minute: nothing",
      status: { lastScheduleTime: rfc3339(t0), active: [ref(0)] },
      jobs: [ownedJob(0)],
      at: 30_000,
      creates: [],
    },
    {
      name: "Allow: a second run beside the first",
      status: { lastScheduleTime: rfc3339(t0), active: [ref(0)] },
      jobs: [ownedJob(0)],
      at: minute + 1_000,
      creates: [`tick-${t0Minutes + 1}`],
    },
    {
      name: "Forbid: skipped while the previous run is active",
      spec: { concurrencyPolicy: "Forbid" },
      status: { lastScheduleTime: rfc3339(t0), active: [ref(0)] },
      jobs: [ownedJob(0)],
      at: minute + 1_000,
      creates: [],
      event: "JobAlreadyActive",
    },
    {
      name: "Forbid: runs once the previous one finished",
      spec: { concurrencyPolicy: "Forbid" },
      status: { lastScheduleTime: rfc3339(t0), active: [ref(0)] },
      jobs: [ownedJob(0, "Complete")],
      at: minute + 1_000,
      creates: [`tick-${t0Minutes + 1}`],
      event: "SawCompletedJob",
    },
    {
      name: "Replace: the active run is deleted first",
      spec: { concurrencyPolicy: "Replace" },
      status: { lastScheduleTime: rfc3339(t0), active: [ref(0)] },
      jobs: [ownedJob(0)],
      at: minute + 1_000,
      creates: [`tick-${t0Minutes + 1}`],
      deletes: [`tick-${t0Minutes}`],
    },
    { name: "suspended: nothing", spec: { suspend: true }, at: 1_000, creates: [] },
    {
      name: "startingDeadlineSeconds passed: the run is skipped",
      spec: { startingDeadlineSeconds: 10 },
      status: { lastScheduleTime: rfc3339(t0 - minute) },
      at: 30_000,
      creates: [],
    },
    {
      name: "after an outage: one catch-up run for the latest missed time",
      status: { lastScheduleTime: rfc3339(t0 - 10 * minute) },
      at: 30_000,
      creates: [`tick-${t0Minutes}`],
    },
    {
      name: "after a long outage: still one run, and a warning",
      status: { lastScheduleTime: rfc3339(t0 - 500 * minute) },
      at: 30_000,
      creates: [`tick-${t0Minutes}`],
      event: "TooManyMissedTimes",
    },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const { cluster, c } = setup(cronJob(tc.spec, tc.status), tc.jobs);
      cluster.clock.advance(tc.at);
      await c.sync("default/tick");
      const actions = cluster.takeActions();
      expect(actions.filter((a) => a.verb === "create").map((a) => a.name)).toEqual(tc.creates);
      expect(actions.filter((a) => a.verb === "delete").map((a) => a.name)).toEqual(tc.deletes ?? []);
      if (tc.event) expect(cluster.events.map((e) => e.reason)).toContain(tc.event);
    });
  }

  it("a lost status write does not start the run twice: the Job's name is the lock", async () => {
    const { cluster, c } = setup(cronJob(), [ownedJob(0)]);
    cluster.clock.advance(1_000);
    await c.sync("default/tick");
    expect(cluster.takeActions().map(brief)).toEqual([
      `create jobs tick-${t0Minutes}`,
      `get jobs tick-${t0Minutes}`,
      "updateStatus cronjobs tick",
    ]);
    expect(stored(cluster).status?.active?.map((r) => r.uid)).toEqual(["job-0"]);
  });
});

describe("CronJob controller: status and history", () => {
  it("finished runs leave active, lastSuccessfulTime follows completions, history is trimmed oldest first", async () => {
    const jobs = [
      ownedJob(-5, "Complete"),
      ownedJob(-4, "Complete"),
      ownedJob(-3, "Complete"),
      ownedJob(-2, "Complete"),
      ownedJob(-1, "Failed"),
      ownedJob(-6, "Failed"),
    ];
    const { cluster, c } = setup(cronJob({ suspend: true }, { active: [ref(-2)] }), jobs);
    await c.sync("default/tick");
    const deletes = cluster
      .takeActions()
      .filter((a) => a.verb === "delete")
      .map((a) => a.name);
    expect(deletes).toEqual([`tick-${t0Minutes - 5}`, `tick-${t0Minutes - 6}`]);
    const status = stored(cluster).status;
    expect(status?.active).toBeUndefined();
    expect(status?.lastSuccessfulTime).toBe(rfc3339(t0 - 3 * minute + 5_000));
  });

  it("an active Job gone from the server leaves active with MissingJob", async () => {
    const { cluster, c } = setup(cronJob({ suspend: true }, { active: [ref(0)] }));
    await c.sync("default/tick");
    expect(cluster.takeActions().map(brief)).toEqual([
      `get jobs tick-${t0Minutes}`,
      "updateStatus cronjobs tick",
    ]);
    expect(cluster.events.map((e) => e.reason)).toEqual(["MissingJob"]);
  });

  it("a running Job it owns but does not list (kubectl create job --from) is reported, not adopted", async () => {
    const manual = ownedJob(0);
    manual.metadata.name = "manual";
    const { cluster, c } = setup(cronJob({ suspend: true }), [manual]);
    await c.sync("default/tick");
    expect(cluster.events.map((e) => `${e.reason} ${e.message}`)).toEqual([
      "UnexpectedJob Saw a job that the controller did not create or forgot: manual",
    ]);
  });
});

describe("schedule arithmetic", () => {
  const hourly = parseCronSchedule("@hourly", "UTC");
  const cases: {
    name: string;
    earliest: number;
    now: number;
    deadline?: number;
    mostRecent?: number;
    missed: number;
  }[] = [
    { name: "nothing due yet", earliest: t0, now: t0 + 59 * minute, missed: 0 },
    { name: "one due", earliest: t0, now: t0 + 61 * minute, mostRecent: t0 + 60 * minute, missed: 1 },
    {
      name: "three missed: the latest",
      earliest: t0,
      now: t0 + 185 * minute,
      mostRecent: t0 + 180 * minute,
      missed: 3,
    },
    {
      name: "a deadline window keeps only recent ones",
      earliest: t0,
      now: t0 + 185 * minute,
      deadline: 600,
      mostRecent: t0 + 180 * minute,
      missed: 1,
    },
    {
      name: "a deadline window hides older ones",
      earliest: t0,
      now: t0 + 195 * minute,
      deadline: 600,
      missed: 0,
    },
    {
      name: "over 100 missed: capped count, still the latest",
      earliest: t0,
      now: t0 + 200 * 60 * minute + 1,
      mostRecent: t0 + 200 * 60 * minute,
      missed: 101,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      expect(dueTime(hourly, tc.earliest, tc.now, tc.deadline)).toEqual({
        mostRecent: tc.mostRecent,
        missed: tc.missed,
      });
    });
  }

  it("a time zone moves the schedule and the scheduled-timestamp annotation", () => {
    const nineInParis = parseCronSchedule("0 9 * * *", "Europe/Paris");
    expect(rfc3339(nineInParis.next(t0))).toBe("2024-01-01T08:00:00Z");
    expect(rfc3339In(t0 + 8 * 60 * minute, "Europe/Paris")).toBe("2024-01-01T09:00:00+01:00");
    const job = jobFromTemplate(cronJob({ timeZone: "America/New_York" }), t0);
    expect(job.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"]).toBe(
      "2023-12-31T19:00:00-05:00",
    );
  });
});
