/**
 * The OCI bundle as a hook, last of the prestart hooks: the container's process (the image's
 * entrypoint, cmd and env overridden by the spec, with `$(VAR)` and `valueFrom` resolved) and what
 * the hooks before it prepared (rootfs, security, cgroup, log, mounts) become `<podDir>/bundles/<id>/config.json`.
 * A process that cannot be resolved waits as CreateContainerConfigError.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { quantityMilliValue, quantityValue } from "../../foundation/api/quantity.js";
import { type ContainerConfigInput, writeContainerBundle } from "../runtime/oci/container-config.js";
import { EnvError, type ResolvedProcess, resolveEnv } from "./env.js";
import type { AttemptSetup, PodHook, PodRun } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";

const bundleDir = (run: PodRun, id: string) => join(run.podDir, "bundles", id);

/**
 * The container's config from the attempt's parts. Every input of the bundle is decided here, so
 * a new one is one more line.
 */
export function bundleConfig(run: PodRun, a: AttemptSetup, process: ResolvedProcess): ContainerConfigInput {
  const { spec } = a;
  const cfg = a.image!.config;
  const args = process.command
    ? [...process.command, ...(process.args ?? [])]
    : [...cfg.entrypoint, ...(process.args ?? cfg.cmd)];
  if (args.length === 0)
    throw new EnvError(`container "${a.name}": no command (the image has no entrypoint or cmd)`);
  const env = new Map(
    cfg.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] as [string, string]),
  );
  for (const [k, v] of process.env) env.set(k, v);
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  return {
    rootfs: a.rootfs!,
    args,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: spec.workingDir || cfg.workingDir || "/",
    hostname: run.pod.spec?.hostname || (run.pod.metadata.name ?? "").slice(0, 63),
    netnsPath: run.sandbox!.netnsPath,
    cgroupsPath: a.cgroupsPath!,
    logPath: a.logPath!,
    ...(run.deps.logRotation ? { logRotation: run.deps.logRotation } : {}),
    ...(spec.stdin ? { stdin: spec.stdinOnce ? ("once" as const) : ("open" as const) } : {}),
    mounts: a.mounts,
    ...(limits.memory ? { memoryLimit: Math.floor(quantityValue(limits.memory)) } : {}),
    ...(limits.cpu ? { cpuLimitMilli: quantityMilliValue(limits.cpu) } : {}),
    ...(requests.cpu ? { cpuRequestMilli: quantityMilliValue(requests.cpu) } : {}),
    security: a.security!,
  };
}

export function bundleHook(): PodHook {
  return {
    name: "bundle",
    async prestart(run, a) {
      const { pod } = run;
      try {
        const process = await resolveEnv(
          pod,
          a.spec,
          run.deps.lookup,
          { podIP: run.sandbox!.ip, hostIP: run.deps.hostIP },
          run.deps.serviceEnv?.(pod.metadata.namespace ?? "default"),
        );
        a.bundle = await writeContainerBundle(bundleDir(run, a.id), bundleConfig(run, a, process));
      } catch (err) {
        if (err instanceof EnvError)
          throw new HookError("CreateContainerConfigError", err.message, { cause: err });
        throw err;
      }
    },
    async poststop(run, ref) {
      await rm(bundleDir(run, ref.id), { recursive: true, force: true });
    },
  };
}
