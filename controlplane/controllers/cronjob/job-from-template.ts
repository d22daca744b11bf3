/**
 * The Job a CronJob starts for one scheduled time: its jobTemplate's labels, annotations and spec,
 * named `<cronjob>-<minutes since the epoch of the scheduled time>` (the name is the lock that
 * keeps two syncs from starting the same run twice), controlled by the CronJob, annotated with the
 * scheduled time in the CronJob's zone (`batch.kubernetes.io/cronjob-scheduled-timestamp`).
 */

import { newControllerRef } from "../../../foundation/api/owner-references.js";
import type { CronJob, Job, JobSpec } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export function jobName(cj: DeepReadonly<CronJob>, scheduledMs: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

export function jobFromTemplate(cj: DeepReadonly<CronJob>, scheduledMs: number): Job {
  const template = cj.spec?.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduledMs),
      namespace: cj.metadata.namespace ?? "",
      labels: { ...template?.metadata?.labels },
      annotations: {
        ...template?.metadata?.annotations,
        [scheduledTimestampAnnotation]: rfc3339In(scheduledMs, cj.spec?.timeZone),
      },
      ownerReferences: [newControllerRef(cj)],
    },
    spec: structuredClone(template?.spec ?? {}) as JobSpec,
  };
}

/** RFC 3339 with the offset of `timeZone` (the process's own zone when absent): 2024-01-01T09:00:00+01:00. */
export function rfc3339In(ms: number, timeZone: string | undefined): string {
  const offsetMin =
    timeZone === undefined ? -new Date(ms).getTimezoneOffset() : zoneOffsetMinutes(ms, timeZone);
  const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);
  if (offsetMin === 0) return `${local}Z`;
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function zoneOffsetMinutes(ms: number, timeZone: string): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(new Date(ms))
    .find((p) => p.type === "timeZoneName")?.value;
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name ?? "");
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === "-" ? -minutes : minutes;
}
