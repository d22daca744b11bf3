import { describe, expect, it } from "vitest";
import type { CronJob, Job } from "../../../proto/gen/api.js";
import { applyDefaults, validateObject } from "../../kinds/index.js";
import { decodeObject } from "../codec.js";
import type { KubeObject } from "../object.js";
import { resourceForKind } from "../resources.js";

type Raw = Record<string, unknown>;

/** The apiserver's create path, with the uid the registry would give the object. */
function prepare(raw: Raw, uid?: string): KubeObject {
  const obj = decodeObject(raw);
  obj.metadata.namespace ??= "default";
  if (uid) obj.metadata.uid = uid;
  return applyDefaults(resourceForKind(obj.apiVersion, obj.kind)!, obj);
}

function messages(raw: Raw, uid?: string, oldRaw?: Raw): string[] {
  const obj = prepare(raw, uid);
  const old = oldRaw ? prepare(oldRaw, uid) : undefined;
  return validateObject(resourceForKind(obj.apiVersion, obj.kind)!, obj, old).map(
    (c) => `${c.field}: ${c.message}`,
  );
}

const podTemplate = (restartPolicy?: string) => ({
  spec: {
    ...(restartPolicy ? { restartPolicy } : {}),
    containers: [{ name: "main", image: "kctl.local/busybox:debian", command: ["true"] }],
  },
});

const job = (spec: Raw = {}, restartPolicy = "Never"): Raw => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "pi" },
  spec: { template: podTemplate(restartPolicy), ...spec },
});

const cronJob = (spec: Raw = {}, name = "nightly"): Raw => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name },
  spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: podTemplate("OnFailure") } }, ...spec },
});

describe("Job defaults", () => {
  it("fills upstream's defaults and, once the uid is known, the generated selector and labels", () => {
    const j = prepare(job(), "u-1") as Job;
    expect(j.spec).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      manualSelector: false,
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } },
    });
    const labels = {
      "batch.kubernetes.io/controller-uid": "u-1",
      "controller-uid": "u-1",
      "batch.kubernetes.io/job-name": "pi",
      "job-name": "pi",
    };
    expect(j.spec?.template?.metadata?.labels).toEqual(labels);
    expect(j.metadata.labels).toEqual(labels);
    // Idempotent: defaulting the stored object again changes nothing.
    expect(applyDefaults(resourceForKind("batch/v1", "Job")!, structuredClone(j) as KubeObject)).toEqual(j);
    expect(messages(job(), "u-1")).toEqual([]);
  });

  it("a Job with parallelism only runs as a work queue (completions unset); backoffLimitPerIndex lifts backoffLimit", () => {
    expect((prepare(job({ parallelism: 3 })) as Job).spec?.completions).toBeUndefined();
    const perIndex = prepare(
      job({ completionMode: "Indexed", completions: 3, backoffLimitPerIndex: 1 }),
    ) as Job;
    expect(perIndex.spec?.backoffLimit).toBe(2147483647);
  });

  it("CronJob defaults: Allow, not suspended, history 3/1; the job template's own fields stay unset", () => {
    const cj = prepare(cronJob()) as CronJob;
    expect(cj.spec).toMatchObject({
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cj.spec?.jobTemplate?.spec?.backoffLimit).toBeUndefined();
    expect(cj.spec?.jobTemplate?.spec?.template?.spec?.dnsPolicy).toBe("ClusterFirst");
  });
});

describe("Job validation names every bad field", () => {
  const cases: { name: string; raw: Raw; want: string[]; uid?: string }[] = [
    {
      name: "restartPolicy Always (also what an absent one defaults to)",
      raw: job({}, ""),
      want: [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
      ],
    },
    {
      name: "negative counts",
      raw: job({ parallelism: -1, completions: -2, backoffLimit: -3, ttlSecondsAfterFinished: -4 }),
      want: [
        "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
        "spec.completions: Invalid value: -2: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0",
        "spec.ttlSecondsAfterFinished: Invalid value: -4: must be greater than or equal to 0",
      ],
    },
    {
      name: "Indexed without completions",
      raw: job({ completionMode: "Indexed", parallelism: 2 }),
      want: ["spec.completions: Required value: when completion mode is Indexed"],
    },
    {
      name: "an unknown completion mode",
      raw: job({ completionMode: "Sometimes" }),
      want: [
        'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"',
      ],
    },
    {
      name: "backoffLimitPerIndex on a NonIndexed Job",
      raw: job({ backoffLimitPerIndex: 1 }),
      want: [
        "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
        "spec.backoffLimitPerIndex: Forbidden: per-index backoff is not supported by this cluster's Job controller",
      ],
    },
    {
      name: "a selector the API did not generate",
      raw: job({ selector: { matchLabels: { app: "x" } } }),
      uid: "u-1",
      want: ['spec.selector: Invalid value: "": `selector` not auto-generated'],
    },
    {
      name: "a manual selector that does not match the template",
      raw: job({ manualSelector: true, selector: { matchLabels: { app: "x" } } }),
      want: [
        "spec.template.metadata.labels: Invalid value: {...}: `selector` does not match template `labels`",
      ],
    },
    {
      name: "podFailurePolicy rules",
      raw: job(
        {
          podFailurePolicy: {
            rules: [
              { action: "Explode", onExitCodes: { operator: "In", values: [0, 3, 2] } },
              { action: "Ignore" },
              { action: "Count", onExitCodes: { containerName: "other", operator: "NotIn", values: [1] } },
            ],
          },
        },
        "OnFailure",
      ),
      want: [
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
        'spec.podFailurePolicy.rules[0].action: Unsupported value: "Explode": supported values: "FailJob", "FailIndex", "Ignore", "Count"',
        "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
        "spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Invalid value: 2: must be ordered",
        'spec.podFailurePolicy.rules[1]: Invalid value: "": specifying one of OnExitCodes and OnPodConditions is required',
        'spec.podFailurePolicy.rules[2].onExitCodes.containerName: Invalid value: "other": must be one of the container or initContainer names in the pod template',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(messages(c.raw, c.uid)).toEqual(c.want));
  }

  it("the template is immutable, but for scheduling fields of a suspended Job that never started", () => {
    const before = job({ suspend: true });
    const after = structuredClone(before) as { spec: { template: { spec: Raw } } };
    after.spec.template.spec.nodeSelector = { disk: "ssd" };
    expect(messages(after as Raw, "u-1", before)).toEqual([]);
    const image = structuredClone(before) as { spec: { template: { spec: { containers: Raw[] } } } };
    image.spec.template.spec.containers[0]!.image = "other";
    expect(messages(image as Raw, "u-1", before)[0]).toMatch(
      /^spec\.template: Invalid value: .*: field is immutable$/,
    );
    expect(messages(job({ completions: 2 }), "u-1", job())).toEqual([
      "spec.completions: Invalid value: 2: field is immutable",
    ]);
  });
});

describe("CronJob validation", () => {
  const cases: { name: string; raw: Raw; want: string[] }[] = [
    {
      name: "a minute out of range",
      raw: cronJob({ schedule: "61 * * * *" }),
      want: [
        'spec.schedule: Invalid value: "61 * * * *": Constraint error, got value 61 expected range 0-59',
      ],
    },
    {
      name: "too few fields",
      raw: cronJob({ schedule: "* * *" }),
      want: ['spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: * * *'],
    },
    {
      name: "a seconds field",
      raw: cronJob({ schedule: "0 * * * * *" }),
      want: ['spec.schedule: Invalid value: "0 * * * * *": expected exactly 5 fields, found 6: 0 * * * * *'],
    },
    {
      name: "TZ in the schedule",
      raw: cronJob({ schedule: "CRON_TZ=UTC 0 * * * *" }),
      want: [
        'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
      ],
    },
    {
      name: "an unknown time zone and Local",
      raw: cronJob({ timeZone: "Mars/Olympus" }),
      want: ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'],
    },
    {
      name: "Local",
      raw: cronJob({ timeZone: "Local" }),
      want: [
        'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
      ],
    },
    {
      name: "a bad concurrency policy and a selector in the job template",
      raw: cronJob({
        concurrencyPolicy: "Sometimes",
        jobTemplate: {
          spec: { selector: { matchLabels: { a: "b" } }, template: podTemplate("Always") },
        },
      }),
      want: [
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
        'spec.jobTemplate.spec.selector: Invalid value: "": `selector` will be auto-generated',
        'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
      ],
    },
    {
      name: "a name too long for its Jobs' names",
      raw: cronJob({}, "a".repeat(53)),
      want: [`metadata.name: Invalid value: "${"a".repeat(53)}": must be no more than 52 characters`],
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(messages(c.raw)).toEqual(c.want));
  }

  it("accepts macros, names and an IANA time zone", () => {
    for (const schedule of ["@hourly", "@daily", "0 9 * * MON-FRI", "*/15 0-6 1,15 JAN-MAR ?"])
      expect(messages(cronJob({ schedule, timeZone: "Europe/Paris" })), schedule).toEqual([]);
  });
});
