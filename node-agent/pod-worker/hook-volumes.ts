/**
 * The pod's volumes as a hook: made before any container (a failure is the pod's FailedMount),
 * bind-mounted into each container that mounts them (a subPath mounted safely for the attempt and
 * taken down with it), ConfigMap, Secret and projected contents written again every
 * `volumeRefreshMs` where they changed, so a changed object or a refreshed token reaches running
 * containers (as the kubelet's periodic sync does; subPath mounts keep what they had), and removed
 * with the pod.
 */
import { logWarning } from "../../foundation/util/log.js";
import type { PodHook } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";
import {
  prepareContainerMounts,
  prepareVolumes,
  releaseContainerMounts,
  releaseVolumes,
  VolumeError,
} from "./volumes.js";

export const DEFAULT_VOLUME_REFRESH_MS = 10_000;

export function volumesHook(): PodHook {
  let preparedAt = 0;
  return {
    name: "volumes",
    async prerun(run) {
      const { clock, lookup } = run.deps;
      const now = clock.now();
      if (run.volumePaths) {
        const period = run.deps.volumeRefreshMs ?? DEFAULT_VOLUME_REFRESH_MS;
        const fromObjects = run.pod.spec?.volumes?.some((v) => v.configMap || v.secret || v.projected);
        if (!fromObjects || now - preparedAt < period) return undefined;
        preparedAt = now;
        await prepareVolumes(run.pod, run.podDir, lookup).catch((err: unknown) =>
          logWarning("pod-worker", "volume refresh failed", run.uid, String(err)),
        );
        return undefined;
      }
      try {
        run.volumePaths = await prepareVolumes(run.pod, run.podDir, lookup);
        preparedAt = now;
      } catch (err) {
        if (err instanceof VolumeError) throw new HookError("FailedMount", err.message, { cause: err });
        throw err;
      }
      return undefined;
    },
    async prestart(run, a) {
      try {
        a.mounts.push(
          ...(await prepareContainerMounts(
            run.podDir,
            a.id,
            a.spec.volumeMounts ?? [],
            run.volumePaths ?? new Map(),
          )),
        );
      } catch (err) {
        if (err instanceof VolumeError)
          throw new HookError("CreateContainerConfigError", err.message, { cause: err });
        throw err;
      }
    },
    async poststop(run, ref) {
      await releaseContainerMounts(run.podDir, ref.id);
    },
    async postrun(run) {
      await releaseVolumes(run.podDir);
    },
  };
}
