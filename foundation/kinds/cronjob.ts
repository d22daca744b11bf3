/** CronJob: creates Jobs from a template on a cron schedule (the CronJob controller). */

import type { CronJob } from "../../proto/gen/api.js";
import { defaultCronJob } from "../api/batch-defaults.js";
import { validateCronJob } from "../api/validation/batch.js";
import { age } from "../printers/age.js";
import { created, none, templateWide } from "../printers/cells.js";
import { podTemplate, selectorText } from "../printers/describe-sections.js";
import { describeTime } from "../printers/describe-writer.js";
import { defineKind } from "./kind.js";

/** kubectl's printBoolPtr: an absent boolean is `<unset>`. */
const boolCell = (b: boolean | undefined) => (b === undefined ? "<unset>" : b ? "True" : "False");
const unset = (v: number | string | undefined) => (v === undefined ? "<unset>" : v);

export const cronJobKind = defineKind<CronJob>({
  resource: {
    group: "batch",
    version: "v1",
    kind: "CronJob",
    plural: "cronjobs",
    singular: "cronjob",
    shortNames: ["cj"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.CronJob",
    hasStatus: true,
  },
  defaults: defaultCronJob,
  validate: (c, cj) => validateCronJob(c, cj),
  columns: {
    headers: ["SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (cj, now) => [
      cj.spec?.schedule ?? "",
      cj.spec?.timeZone ?? none,
      boolCell(cj.spec?.suspend),
      String(cj.status?.active?.length ?? 0),
      cj.status?.lastScheduleTime ? age(cj.status.lastScheduleTime, now) : none,
      created(cj, now),
    ],
    wideCells: (cj) =>
      templateWide(cj.spec?.jobTemplate?.spec?.template, cj.spec?.jobTemplate?.spec?.selector),
  },
  describe: (w, cj) => {
    const spec = cj.spec ?? {};
    const job = spec.jobTemplate?.spec ?? {};
    w.field(0, "Schedule", spec.schedule);
    if (spec.timeZone !== undefined) w.field(0, "Time Zone", spec.timeZone);
    w.field(0, "Concurrency Policy", spec.concurrencyPolicy);
    w.field(0, "Suspend", boolCell(spec.suspend));
    w.field(0, "Successful Job History Limit", unset(spec.successfulJobsHistoryLimit));
    w.field(0, "Failed Job History Limit", unset(spec.failedJobsHistoryLimit));
    w.field(0, "Starting Deadline Seconds", unset(spec.startingDeadlineSeconds));
    w.field(0, "Selector", job.selector ? selectorText(job.selector) : "<unset>");
    w.field(0, "Parallelism", unset(job.parallelism));
    w.field(0, "Completions", unset(job.completions));
    if (job.activeDeadlineSeconds !== undefined)
      w.field(0, "Active Deadline Seconds", `${job.activeDeadlineSeconds}s`);
    podTemplate(w, job.template);
    const last = cj.status?.lastScheduleTime;
    w.field(0, "Last Schedule Time", last ? describeTime(last) : "<unset>");
    w.field(0, "Active Jobs", (cj.status?.active ?? []).map((r) => r.name).join(", ") || none);
  },
});
