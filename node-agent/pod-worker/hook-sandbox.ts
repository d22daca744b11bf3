/**
 * The pod's network sandbox as a hook: the network namespace, its address and the pod's
 * /etc/hosts, /etc/resolv.conf and /etc/hostname, made before any container and bind-mounted into
 * each; torn down last. With `dnsPolicy: Default` the pod resolves names as its node does: its
 * resolv.conf is a copy of the node's instead of the cluster DNS one.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { PodHook, PodRun } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";

export const DEFAULT_NODE_RESOLV_CONF = "/etc/resolv.conf";

/** The node's resolv.conf copied into the pod's directory (a copy, so the pod cannot write the node's). */
async function nodeResolvConf(run: PodRun): Promise<string> {
  const source = run.deps.nodeResolvConf ?? DEFAULT_NODE_RESOLV_CONF;
  const target = join(run.podDir, "dns", "resolv.conf");
  try {
    await mkdir(join(run.podDir, "dns"), { recursive: true });
    await copyFile(source, target);
  } catch (err) {
    throw new HookError(
      "FailedCreatePodSandBox",
      `spec.dnsPolicy: Default: cannot copy the node's ${source}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return target;
}

export function sandboxHook(): PodHook {
  return {
    name: "sandbox",
    async prerun(run: PodRun) {
      if (run.sandbox) return undefined;
      const { pod } = run;
      let sandbox: NonNullable<PodRun["sandbox"]>;
      try {
        sandbox = await run.deps.startLimit.run(() =>
          run.deps.network.setupSandbox({
            podUID: run.uid,
            podName: pod.metadata.name ?? "",
            namespace: pod.metadata.namespace ?? "default",
            ...(pod.spec?.hostname ? { hostname: pod.spec.hostname } : {}),
          }),
        );
      } catch (err) {
        throw new HookError("FailedCreatePodSandBox", (err as Error).message, { cause: err });
      }
      if (pod.spec?.dnsPolicy === "Default")
        sandbox = { ...sandbox, files: { ...sandbox.files, resolvConf: await nodeResolvConf(run) } };
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
