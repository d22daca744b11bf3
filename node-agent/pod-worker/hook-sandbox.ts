/**
 * The pod's network sandbox as a hook: the network namespace, its address and the pod's
 * /etc/hosts, /etc/resolv.conf and /etc/hostname, made before any container and bind-mounted into
 * each; torn down last.
 */
import type { PodHook, PodRun } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";

export function sandboxHook(): PodHook {
  return {
    name: "sandbox",
    async prerun(run: PodRun) {
      if (run.sandbox) return undefined;
      const { pod } = run;
      let sandbox: NonNullable<PodRun["sandbox"]>;
      try {
        sandbox = await run.deps.network.setupSandbox({
          podUID: run.uid,
          podName: pod.metadata.name ?? "",
          namespace: pod.metadata.namespace ?? "default",
          ...(pod.spec?.hostname ? { hostname: pod.spec.hostname } : {}),
        });
      } catch (err) {
        throw new HookError("FailedCreatePodSandBox", (err as Error).message, { cause: err });
      }
      run.sandbox = sandbox;
      return undefined;
    },
    async prestart(run, a) {
      const files = run.sandbox!.files;
      a.mounts.push(
        { source: files.hosts, destination: "/etc/hosts" },
        { source: files.resolvConf, destination: "/etc/resolv.conf" },
        { source: files.hostname, destination: "/etc/hostname" },
      );
    },
    async postrun(run) {
      await run.deps.network.teardownSandbox(run.uid);
    },
  };
}
