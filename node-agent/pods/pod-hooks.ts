/**
 * The pod lifecycle as small hooks, Nomad-style: each implements only the stages it needs, and the
 * worker runs `prestart` in order before starting containers, `poststart` after each round of
 * starts, `prestop` (in order) before stopping containers and `poststop` (in reverse order) after.
 * A `prestart` that throws holds the pod (its containers stay waiting with the message) and is
 * retried on the next sync. Adding a feature adds a hook here, not a branch in the worker.
 */
import type { Clock } from "../../controlplane/util/clock.js";
import type { Pod } from "../../proto/gen/api.js";
import type { Sandbox } from "../network/index.js";
import type { ImageStore, ResolvedImage } from "../runtime/images/index.js";
import { isImageNotFound } from "../runtime/images/index.js";
import { podCgroupPath, removeCgroupTree } from "../runtime/shim/index.js";
import type { ObjectLookup } from "./object-lookup.js";
import { prepareVolumes, removeVolumes } from "./volumes-linux.js";

/** What the hooks share with the worker for one pod. */
export interface PodContext {
  pod: Pod;
  podDir: string;
  sandbox?: Sandbox;
  /** Host path of each volume by name. */
  volumes: Map<string, string>;
  /** Each container image of the spec: resolved, or the reason and message it cannot be used. */
  images: Map<string, ResolvedImage | { reason: string; message: string }>;
  /** Milliseconds since the epoch by which stopping must be done (set for prestop). */
  deadline?: number;
}

export interface PodHook {
  readonly name: string;
  prestart?(ctx: PodContext): Promise<void>;
  poststart?(ctx: PodContext): Promise<void>;
  prestop?(ctx: PodContext): Promise<void>;
  poststop?(ctx: PodContext): Promise<void>;
}

/** The subset of the network module the sandbox hook uses. */
export interface SandboxNetwork {
  setupSandbox(req: {
    podUID: string;
    podName: string;
    namespace: string;
    hostname?: string;
    hostAliases?: readonly { ip: string; hostnames: readonly string[] }[];
  }): Promise<Sandbox>;
  teardownSandbox(podUID: string): Promise<void>;
}

/** The pod's network namespace, veth and address; torn down last. */
export function sandboxHook(network: SandboxNetwork): PodHook {
  return {
    name: "sandbox",
    async prestart(ctx) {
      const { metadata: m, spec } = ctx.pod;
      ctx.sandbox ??= await network.setupSandbox({
        podUID: m.uid ?? "",
        podName: m.name ?? "",
        namespace: m.namespace ?? "default",
        ...(spec?.hostname !== undefined && { hostname: spec.hostname }),
      });
    },
    async poststop(ctx) {
      await network.teardownSandbox(ctx.pod.metadata.uid ?? "");
      delete ctx.sandbox;
    },
  };
}

/** emptyDir, configMap, secret and hostPath volumes under the pod dir. */
export function volumesHook(lookup: ObjectLookup): PodHook {
  let prepared = false;
  return {
    name: "volumes",
    async prestart(ctx) {
      if (prepared) return;
      ctx.volumes = await prepareVolumes(ctx.pod, ctx.podDir, lookup);
      prepared = true;
    },
    async poststop(ctx) {
      await removeVolumes(ctx.podDir);
      ctx.volumes.clear();
    },
  };
}

/**
 * Finds each container's image on the node on every sync (so an image imported later is picked up).
 * A missing image does not hold the pod: that container waits with `ErrImageNeverPull` (policy
 * Never) or `ErrImagePull` (registries are not pulled from yet) and the others start.
 */
export function imageHook(images: ImageStore): PodHook {
  return {
    name: "image",
    async prestart(ctx) {
      const spec = ctx.pod.spec;
      for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        const ref = c.image ?? "";
        try {
          ctx.images.set(ref, await images.resolve(ref));
        } catch (err) {
          if (!isImageNotFound(err)) {
            ctx.images.set(ref, { reason: "InvalidImageName", message: (err as Error).message });
          } else if (c.imagePullPolicy === "Never") {
            ctx.images.set(ref, {
              reason: "ErrImageNeverPull",
              message: `Container image "${ref}" is not present with pull policy of Never`,
            });
          } else {
            ctx.images.set(ref, {
              reason: "ErrImagePull",
              message: `Container image "${ref}" is not present on this node and pulling from registries is not supported yet; import it with kctl image import`,
            });
          }
        }
      }
    },
  };
}

/** The pod's cgroup directory, left by the runtimes as the ancestor of its containers' cgroups. */
export function cgroupHook(cgroupParent: string): PodHook {
  return {
    name: "cgroup",
    async poststop(ctx) {
      await removeCgroupTree(podCgroupPath(cgroupParent, ctx.pod.metadata.uid ?? ""));
    },
  };
}

/**
 * Waits, before any container is stopped, for the pod's endpoints to be withdrawn (the worker has
 * already reported it not Ready), bounded by the grace period. The integrator provides the wait.
 */
export function endpointWithdrawalHook(
  wait: (pod: Pod, signal: AbortSignal) => Promise<void>,
  clock: Clock,
): PodHook {
  return {
    name: "endpoint-withdrawal",
    async prestop(ctx) {
      const remaining = (ctx.deadline ?? clock.now()) - clock.now();
      if (remaining <= 0) return;
      const abort = new AbortController();
      const timer = clock.setTimer(remaining, () => abort.abort());
      try {
        await Promise.race([
          wait(ctx.pod, abort.signal).catch(() => undefined),
          new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve())),
        ]);
      } finally {
        timer.cancel();
        abort.abort();
      }
    },
  };
}
