/**
 * `activeDeadlineSeconds` as a hook, as the kubelet enforces it: once the pod has been active on
 * the node that long (from `status.startTime`), it fails as a whole with reason DeadlineExceeded,
 * its containers are killed and none starts again. First in the list, so an expired pod makes
 * nothing more.
 */
import type { PodHook } from "./pod-hook.js";

export const DEADLINE_EXCEEDED = {
  reason: "DeadlineExceeded",
  message: "Pod was active on the node longer than the specified deadline",
};

export function deadlineHook(): PodHook {
  return {
    name: "deadline",
    async prerun(run) {
      const seconds = run.pod.spec?.activeDeadlineSeconds;
      if (seconds === undefined) return undefined;
      const activeMs = run.deps.clock.now() - Date.parse(run.startTime);
      return activeMs >= seconds * 1000 ? { fail: DEADLINE_EXCEEDED } : undefined;
    },
  };
}
