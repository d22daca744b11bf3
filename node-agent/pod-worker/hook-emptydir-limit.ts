/**
 * emptyDir `sizeLimit` as a hook, as the kubelet's local-storage eviction enforces it for
 * disk-backed emptyDirs: once one holds more than its limit, the pod fails with reason Evicted and
 * an event says which volume. Measured at most every 10 s (the kubelet's housekeeping period), since
 * a walk of the volume costs in proportion to what the pod wrote. After the volumes hook, whose
 * paths it reads.
 */
import { emptyDirOverLimit } from "./emptydir-usage.js";
import type { PodHook } from "./pod-hook.js";

const CHECK_EVERY_MS = 10_000;

export function emptyDirLimitHook(): PodHook {
  let checkedAt: number | undefined;
  return {
    name: "emptydir-limit",
    async prerun(run) {
      const now = run.deps.clock.now();
      if (checkedAt !== undefined && now - checkedAt < CHECK_EVERY_MS) return undefined;
      checkedAt = now;
      const over = await emptyDirOverLimit(run.pod, (volume) => run.volumePaths?.get(volume)?.path);
      if (!over) return undefined;
      run.event("Warning", "Evicted", over.message);
      return { fail: { reason: "Evicted", message: over.message } };
    },
  };
}
