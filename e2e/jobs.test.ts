/**
 * Jobs and CronJobs for real on a three-host lab: the Job controller runs pods through the node
 * agents to completion (parallel, Indexed with JOB_COMPLETION_INDEX, failing into
 * BackoffLimitExceeded, deleted after its TTL), the CronJob controller fires on the minute under
 * Forbid, stock kubectl starts a Job from a CronJob, and bad manifests are refused by kctl apply
 * naming the field, with nothing created. Everything is applied up front so the waits overlap.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const image = "kctl.local/busybox:debian";
const kubectlPath = "/usr/bin/kubectl";
/** The waits overlap, but on a loaded two-core machine each kctl call alone can take seconds. */
const testTimeoutMs = 240_000;

interface JobJson {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    completedIndexes?: string;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

interface PodJson {
  metadata: { name: string; annotations?: Record<string, string>; finalizers?: string[] };
  status?: { phase?: string };
}

interface CronJobJson {
  status?: { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: { name: string }[] };
}

const job = (name: string, spec: string, command: string, restartPolicy = "Never") => `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
  namespace: jobs
spec:
${spec}
  template:
    spec:
      restartPolicy: ${restartPolicy}
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${image}
        command: ["sh", "-c", ${JSON.stringify(command)}]
`;

const cronJob = (name: string, schedule: string, policy: string) => `apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}
  namespace: jobs
spec:
  schedule: ${JSON.stringify(schedule)}
  concurrencyPolicy: ${policy}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: ${image}
            command: ["sh", "-c", "echo tick; sleep 2"]
`;

const manifests = [
  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: jobs\n",
  job("six", "  completions: 6\n  parallelism: 3", "sleep 1"),
  job(
    "indexed",
    "  completions: 3\n  parallelism: 3\n  completionMode: Indexed",
    "echo index=$JOB_COMPLETION_INDEX",
  ),
  job("fails", "  backoffLimit: 1", "echo failing; exit 3"),
  job("brief", "  ttlSecondsAfterFinished: 0", "true"),
  cronJob("tick", "*/1 * * * *", "Forbid"),
].join("---\n");

describe.skipIf(!isRoot)("jobs and cronjobs on real nodes", () => {
  let lab: LabCluster;
  const getJson = async <T>(...args: string[]): Promise<T> => {
    const res = await lab.kctl("get", ...args, "-n", "jobs", "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as T;
  };
  const condition = (j: JobJson, type: string) =>
    j.status?.conditions?.find((c) => c.type === type && c.status === "True");
  const finished = (name: string, type: "Complete" | "Failed", timeoutMs = 120_000) =>
    eventually(
      `job ${name} ${type}`,
      async () => {
        const j = await getJson<JobJson>("job", name);
        return condition(j, type) ? j : undefined;
      },
      timeoutMs,
    );
  const podsOf = async (jobName: string) =>
    (await getJson<{ items: PodJson[] }>("pods", "-l", `batch.kubernetes.io/job-name=${jobName}`)).items;

  beforeAll(async () => {
    lab = await startLabCluster("jobs", 3);
    const res = await lab.apply(manifests);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
  }, 180_000);
  afterAll(downLab(() => lab));

  it(
    "runs a Job of 6 completions, 3 at a time, to Complete",
    async () => {
      const j = await finished("six", "Complete");
      expect(j.status).toMatchObject({ succeeded: 6 });
      expect(j.status?.failed ?? 0).toBe(0);
      const table = await lab.kctl("get", "jobs", "six", "-n", "jobs");
      expect(table.stdout).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n/);
      expect(table.stdout).toMatch(/six\s+Complete\s+6\/6\s/);
      // The pods were counted and released: no job-tracking finalizer is left.
      const pods = await podsOf("six");
      expect(pods.filter((p) => p.status?.phase === "Succeeded")).toHaveLength(6);
      expect(pods.flatMap((p) => p.metadata.finalizers ?? [])).toEqual([]);
    },
    testTimeoutMs,
  );

  it(
    "gives each pod of an Indexed Job its JOB_COMPLETION_INDEX",
    async () => {
      const j = await finished("indexed", "Complete");
      expect(j.status?.completedIndexes).toBe("0-2");
      const pods = await podsOf("indexed");
      const seen = new Set<string>();
      for (const p of pods.filter((x) => x.status?.phase === "Succeeded")) {
        const index = p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"];
        const logs = await lab.kctl("logs", p.metadata.name, "-n", "jobs");
        expect(logs.stdout.trim()).toBe(`index=${index}`);
        seen.add(index ?? "");
      }
      expect([...seen].sort()).toEqual(["0", "1", "2"]);
    },
    testTimeoutMs,
  );

  it(
    "fails a Job past its backoffLimit with BackoffLimitExceeded, after one retry",
    async () => {
      const j = await finished("fails", "Failed", 150_000);
      expect(condition(j, "Failed")?.reason).toBe("BackoffLimitExceeded");
      expect(j.status?.failed).toBe(2);
      const events = await lab.kctl("get", "events", "-n", "jobs");
      expect(events.stdout).toMatch(/BackoffLimitExceeded/);
    },
    testTimeoutMs,
  );

  it(
    "deletes a finished Job with ttlSecondsAfterFinished 0, pods first",
    async () => {
      await eventually(
        "job brief deleted",
        async () => {
          const res = await lab.kctl("get", "job", "brief", "-n", "jobs");
          return res.code !== 0 && /not found/i.test(res.stderr) ? true : undefined;
        },
        120_000,
      );
      await eventually("pods of brief gone", async () =>
        (await podsOf("brief")).length === 0 ? true : undefined,
      );
    },
    testTimeoutMs,
  );

  it(
    "fires a CronJob on the minute under Forbid and records the run",
    async () => {
      const cj = await eventually(
        "cronjob tick ran once",
        async () => {
          const c = await getJson<CronJobJson>("cronjob", "tick");
          return c.status?.lastSuccessfulTime ? c : undefined;
        },
        150_000,
      );
      expect(cj.status?.lastScheduleTime).toMatch(/:00Z$/);
      const minutes = Date.parse(cj.status!.lastScheduleTime!) / 60_000;
      const run = await getJson<JobJson>("job", `tick-${minutes}`);
      expect(condition(run, "Complete")).toBeDefined();
      const table = await lab.kctl("get", "cronjobs", "-n", "jobs");
      expect(table.stdout).toMatch(/^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n/);
      expect(table.stdout).toMatch(/tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+\d\s/);
    },
    testTimeoutMs,
  );

  it.skipIf(!existsSync(kubectlPath))(
    "stock kubectl starts a Job from the CronJob (create job --from)",
    async () => {
      const res = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        execFile(
          kubectlPath,
          ["--kubeconfig", lab.config, "-n", "jobs", "create", "job", "by-hand", "--from=cronjob/tick"],
          { timeout: 60_000 },
          (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? 1 : 0 }),
        );
      });
      expect(res.stderr).toBe("");
      expect(res.stdout).toMatch(/job.batch\/by-hand created/);
      const j = await finished("by-hand", "Complete");
      expect(j.metadata.annotations?.["cronjob.kubernetes.io/instantiate"]).toBe("manual");
    },
    testTimeoutMs,
  );

  it(
    "refuses a cron string that does not parse and a Job that restarts Always, naming the field",
    async () => {
      const badSchedule = await lab.apply(cronJob("bad-schedule", "61 * * * *", "Allow"));
      expect(badSchedule.code).not.toBe(0);
      expect(badSchedule.stderr).toMatch(/spec\.schedule: Invalid value: "61 \* \* \* \*"/);
      const always = await lab.apply(job("restarts", "  completions: 1", "true", "Always"));
      expect(always.code).not.toBe(0);
      expect(always.stderr).toMatch(
        /spec\.template\.spec\.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"/,
      );
      for (const [kind, name] of [
        ["cronjob", "bad-schedule"],
        ["job", "restarts"],
      ] as const) {
        const res = await lab.kctl("get", kind, name, "-n", "jobs");
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/not found/i);
      }
    },
    testTimeoutMs,
  );
});
