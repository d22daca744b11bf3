/**
 * `kctl create job NAME --image IMAGE [-- COMMAND ARGS...]` and `kctl create job NAME
 * --from=cronjob/CJ`, as kubectl builds them: a Job of one pod that never restarts, or a run of a
 * CronJob's job template started by hand (annotation `cronjob.kubernetes.io/instantiate: manual`,
 * controlled by the CronJob, so its history and garbage collection include it).
 */
import { resourceForKind } from "../../foundation/api/resources.js";
import type { CronJob, Job } from "../../proto/gen/api.js";
import type { CommandContext } from "../command.js";
import { UsageError } from "../errors.js";
import { namespaceFlagValue } from "../targets.js";

const cronJobs = resourceForKind("batch/v1", "CronJob")!;

export const jobsResource = resourceForKind("batch/v1", "Job")!;

/** The Job `kctl create job` creates; `from` is the flag's `cronjob/NAME`. */
export async function jobToCreate(
  ctx: CommandContext,
  name: string,
  image: string | undefined,
  from: string | undefined,
  command: readonly string[],
): Promise<Job & { metadata: { name: string } }> {
  if (from === undefined) {
    if (!image) throw new UsageError("create job: give --image or --from=cronjob/NAME");
    return {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name },
      spec: {
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [{ name, image, ...(command.length > 0 ? { command: [...command] } : {}) }],
          },
        },
      },
    };
  }
  if (image || command.length > 0)
    throw new UsageError("create job: --from takes neither --image nor a command");
  const m = /^(cronjob|cronjobs|cj|cronjob\.batch|cronjobs\.batch)\/(.+)$/.exec(from);
  if (!m) throw new UsageError(`--from: expected cronjob/NAME, got "${from}"`);
  const { client, access } = await ctx.connect();
  const namespace = namespaceFlagValue(ctx.flags, access.namespace);
  const cj = (await client.get(cronJobs, namespace, m[2]!)) as CronJob;
  const template = cj.spec?.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      ...(template?.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
      annotations: { ...template?.metadata?.annotations, "cronjob.kubernetes.io/instantiate": "manual" },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: cj.metadata.name ?? "",
          uid: cj.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template?.spec ?? {}),
  };
}
