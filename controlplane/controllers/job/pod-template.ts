/**
 * The pods a Job creates: its template's labels, annotations and spec, named `<job>-` plus a random
 * suffix, controlled by the Job and carrying the job-tracking finalizer, so a pod removed by
 * someone else still reaches the Job's counts before it goes. An Indexed Job's pod also carries its
 * completion index (annotation and label `batch.kubernetes.io/job-completion-index`), is named
 * `<job>-<index>-...` with hostname `<job>-<index>`, and every container gets JOB_COMPLETION_INDEX
 * from that annotation through the downward API.
 */

import { newControllerRef } from "../../../foundation/api/owner-references.js";
import type { Job, ObjectMeta, Pod, PodSpec } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const trackingFinalizer = "batch.kubernetes.io/job-tracking";
export const completionIndexAnnotation = "batch.kubernetes.io/job-completion-index";
export const completionIndexEnv = "JOB_COMPLETION_INDEX";

export function podForJob(job: DeepReadonly<Job>, index?: number): Pod {
  const template = job.spec?.template;
  const name = job.metadata.name ?? "";
  const metadata: ObjectMeta = {
    generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
    namespace: job.metadata.namespace ?? "",
    labels: { ...template?.metadata?.labels },
    ownerReferences: [newControllerRef(job)],
    finalizers: [...(template?.metadata?.finalizers ?? []), trackingFinalizer],
  };
  if (template?.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
  const spec = structuredClone(template?.spec ?? {}) as PodSpec;
  if (index !== undefined) {
    metadata.annotations = { ...metadata.annotations, [completionIndexAnnotation]: String(index) };
    metadata.labels = { ...metadata.labels, [completionIndexAnnotation]: String(index) };
    spec.hostname ??= `${name}-${index}`;
    const fieldRef = { apiVersion: "v1", fieldPath: `metadata.annotations['${completionIndexAnnotation}']` };
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      if ((c.env ?? []).some((e) => e.name === completionIndexEnv)) continue;
      c.env = [...(c.env ?? []), { name: completionIndexEnv, valueFrom: { fieldRef } }];
    }
  }
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

/** The completion index of an Indexed Job's pod, or undefined when it has none or a bad one. */
export function completionIndexOf(pod: DeepReadonly<Pod>, completions: number): number | undefined {
  const text = pod.metadata.annotations?.[completionIndexAnnotation];
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const i = Number(text);
  return i < completions ? i : undefined;
}

export function hasTrackingFinalizer(pod: DeepReadonly<Pod>): boolean {
  return (pod.metadata.finalizers ?? []).includes(trackingFinalizer);
}
