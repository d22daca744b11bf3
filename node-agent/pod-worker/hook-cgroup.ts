/**
 * The pod's cgroup as a hook: each container's cgroup is made by the runtime beneath the pod's
 * (`pod<uid>`), and the pod's own directory is removed once its containers are gone, as the
 * kubelet does.
 */
import { logWarning } from "../../foundation/util/log.js";
import type { PodHook } from "./pod-hook.js";

export function cgroupHook(): PodHook {
  return {
    name: "cgroup",
    async prestart(run, a) {
      a.cgroupsPath = run.deps.cgroups.containerPath(run.uid, a.id);
    },
    async postrun(run) {
      // A cgroup the kernel still holds (a process not yet reaped) must not keep the pod around.
      await run.deps.cgroups
        .removePod(run.uid)
        .catch((err: unknown) => logWarning("pod-worker", "remove pod cgroup failed", String(err)));
    },
  };
}
