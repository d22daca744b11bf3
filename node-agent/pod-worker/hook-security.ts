/**
 * The container's security context as a hook: the user, capabilities, seccomp and read-only root
 * the pod's and the container's securityContext decide (security-context.ts), read against the
 * image's accounts in the attempt's rootfs, for the bundle. What the node cannot honour waits as
 * CreateContainerConfigError. A `hostUsers: false` pod's id range is released with the pod.
 */
import type { PodHook } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";
import { containerSecurity, SecurityContextError } from "./security-context.js";

export function securityHook(): PodHook {
  return {
    name: "security",
    async prestart(run, a) {
      try {
        a.security = await containerSecurity(
          run.pod,
          a.spec,
          a.image!.config.user,
          a.rootfs!,
          run.deps.security,
        );
      } catch (err) {
        if (err instanceof SecurityContextError)
          throw new HookError("CreateContainerConfigError", err.message, { cause: err });
        throw err;
      }
    },
    async postrun(run) {
      await run.deps.security.userNamespaces.release(run.uid);
    },
  };
}
