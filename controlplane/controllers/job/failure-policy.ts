/**
 * spec.podFailurePolicy: the first rule matching a failed pod decides what its failure means.
 * FailJob fails the whole Job at once, Ignore does not count it against backoffLimit, Count counts
 * it as usual (FailIndex needs backoffLimitPerIndex, which this server does not serve). A rule
 * matches on a container's non-zero exit code (In or NotIn its values) or on a pod condition, e.g.
 * DisruptionTarget.
 */
import type { Pod, PodFailurePolicy } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export type FailureAction = "FailJob" | "FailIndex" | "Ignore" | "Count";

export interface PolicyMatch {
  action: FailureAction;
  /** The FailureTarget message a FailJob match carries. */
  message: string;
}

/** The action of the first rule of `policy` matching the failed `pod`, or undefined (count it). */
export function matchPodFailurePolicy(
  policy: DeepReadonly<PodFailurePolicy> | undefined,
  pod: DeepReadonly<Pod>,
): PolicyMatch | undefined {
  const podName = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const [i, rule] of (policy?.rules ?? []).entries()) {
    const action = rule.action as FailureAction;
    const onExit = rule.onExitCodes;
    if (onExit) {
      for (const cs of statuses) {
        if (onExit.containerName !== undefined && cs.name !== onExit.containerName) continue;
        const code = cs.state?.terminated?.exitCode;
        // Exit code 0 is a container that succeeded: never what a rule is about.
        if (code === undefined || code === 0) continue;
        const listed = (onExit.values ?? []).includes(code);
        if (listed === (onExit.operator === "In")) {
          return {
            action,
            message: `Container ${cs.name} for pod ${podName} failed with exit code ${code} matching ${action} rule at index ${i}`,
          };
        }
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const cond = pod.status?.conditions?.find((c) => c.type === pattern.type);
      if (cond && cond.status === (pattern.status ?? "True")) {
        return {
          action,
          message: `Pod ${podName} has condition ${pattern.type} matching ${action} rule at index ${i}`,
        };
      }
    }
  }
  return undefined;
}
