import { describe, expect, it } from "vitest";
import type { CronJob, Job } from "../../proto/gen/api.js";
import { kindFor } from "./index.js";

const jobKind = kindFor({ group: "batch", kind: "Job" })!;
const cronJobKind = kindFor({ group: "batch", kind: "CronJob" })!;
const now = Date.parse("2024-01-01T00:05:00Z");
const cells = (job: Job) => jobKind.columns!.cells(job as never, now);

function job(spec: NonNullable<Job["spec"]>, status: NonNullable<Job["status"]>, deleting = false): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "pi",
      creationTimestamp: "2024-01-01T00:00:00Z",
      ...(deleting ? { deletionTimestamp: "2024-01-01T00:04:00Z" } : {}),
    },
    spec,
    status,
  };
}

const cond = (type: string) => ({ conditions: [{ type, status: "True" }] });

describe("kubectl get jobs columns (v1.32)", () => {
  const cases: { name: string; job: Job; want: string[] }[] = [
    {
      name: "running, started 2m ago",
      job: job({ completions: 6, parallelism: 3 }, { succeeded: 2, startTime: "2024-01-01T00:03:00Z" }),
      want: ["Running", "2/6", "2m", "5m"],
    },
    {
      name: "a work queue with parallelism",
      job: job({ parallelism: 3 }, {}),
      want: ["Running", "0/1 of 3", "", "5m"],
    },
    {
      name: "suspended",
      job: job({ completions: 1 }, cond("Suspended")),
      want: ["Suspended", "0/1", "", "5m"],
    },
    {
      name: "failing: FailureTarget before Failed",
      job: job({ completions: 1 }, cond("FailureTarget")),
      want: ["FailureTarget", "0/1", "", "5m"],
    },
    {
      name: "terminating wins over Suspended, not over Complete",
      job: job({ completions: 1 }, cond("Suspended"), true),
      want: ["Terminating", "0/1", "", "5m"],
    },
    {
      name: "complete: duration up to completionTime",
      job: job(
        { completions: 1 },
        {
          ...cond("Complete"),
          succeeded: 1,
          startTime: "2024-01-01T00:00:00Z",
          completionTime: "2024-01-01T00:00:42Z",
        },
        true,
      ),
      want: ["Complete", "1/1", "42s", "5m"],
    },
  ];
  for (const c of cases) it(c.name, () => expect(cells(c.job)).toEqual(c.want));

  it("CronJob: schedule, time zone, suspend, active count, last schedule", () => {
    const cj: CronJob = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "t", creationTimestamp: "2024-01-01T00:00:00Z" },
      spec: { schedule: "@hourly", timeZone: "Europe/Paris", suspend: true },
      status: { active: [{ name: "t-1" }], lastScheduleTime: "2024-01-01T00:04:00Z" },
    };
    expect(cronJobKind.columns!.headers).toEqual([
      "SCHEDULE",
      "TIMEZONE",
      "SUSPEND",
      "ACTIVE",
      "LAST SCHEDULE",
      "AGE",
    ]);
    expect(cronJobKind.columns!.cells(cj as never, now)).toEqual([
      "@hourly",
      "Europe/Paris",
      "True",
      "1",
      "60s",
      "5m",
    ]);
  });
});
