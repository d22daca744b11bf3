/**
 * A pod's lifecycle hooks, in order, and how each stage runs them. Setup stages run in this order,
 * teardown stages (`poststop`, `postrun`) in reverse, so what was made first goes last and nothing
 * is undone by hand. See README.md for the stages and how to add a hook.
 */

import { join } from "node:path";
import { logWarning } from "../../foundation/util/log.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Pod } from "../../proto/gen/api.js";
import { bundleHook } from "./hook-bundle.js";
import { cgroupHook } from "./hook-cgroup.js";
import { deadlineHook } from "./hook-deadline.js";
import { emptyDirLimitHook } from "./hook-emptydir-limit.js";
import { imageHook } from "./hook-image.js";
import { lifecycleHook } from "./hook-lifecycle.js";
import { logsHook } from "./hook-logs.js";
import { metricsHook } from "./hook-metrics.js";
import { probesHook } from "./hook-probes.js";
import { sandboxHook } from "./hook-sandbox.js";
import { securityHook } from "./hook-security.js";
import { terminationMessageHook } from "./hook-termination-message.js";
import { volumesHook } from "./hook-volumes.js";
import type {
  AttemptRef,
  AttemptSetup,
  AttemptVerdict,
  ContainerAttempt,
  PodHook,
  PodRun,
  PodVerdict,
} from "./pod-hook.js";
import { StartStages } from "./pod-metrics.js";
import type { PodWorkerDeps } from "./pod-worker-deps.js";

/**
 * The hooks of one pod, new per worker (a hook may keep per-pod state). The bundle comes last of
 * the prestart hooks: it puts together what the ones before it prepared.
 */
export function createPodHooks(): PodHook[] {
  return [
    deadlineHook(),
    sandboxHook(),
    cgroupHook(),
    volumesHook(),
    emptyDirLimitHook(),
    imageHook(),
    securityHook(),
    logsHook(),
    terminationMessageHook(),
    bundleHook(),
    probesHook(),
    lifecycleHook(),
    metricsHook(),
  ];
}

/** The worker's side of `PodRun`: it alone replaces the pod with a newer version. */
export type WorkerRun = Omit<PodRun, "pod"> & { pod: Pod };

export function newPodRun(pod: Pod, deps: PodWorkerDeps): WorkerRun {
  const { clock, runtime } = deps;
  const run: WorkerRun = {
    pod,
    uid: pod.metadata.uid ?? "",
    podDir: join(deps.stateDir, "pods", pod.metadata.uid ?? ""),
    startTime: pod.status?.startTime ?? rfc3339(clock.now()),
    deps,
    images: new Map(),
    event: (type, reason, message) => deps.event(run.pod, type, reason, message),
    target: (spec, id) => ({
      podIP: run.sandbox?.ip ?? "",
      container: spec,
      exec: async (command, timeoutMs) => (await runtime.exec(id, command, timeoutMs)).exitCode,
      sleep: (ms) => clock.sleep(ms),
    }),
  };
  return run;
}

const warn = (message: string, ...details: unknown[]) => logWarning("pod-worker", message, ...details);

/** Runs the stages of `hooks` for one pod. */
export class HookChain {
  private readonly reversed: readonly PodHook[];

  constructor(
    private readonly hooks: readonly PodHook[],
    private readonly run: PodRun,
    /** Times the setup stages of the pod's start (per hook), until it first runs. */
    readonly stages: StartStages = new StartStages(undefined),
  ) {
    this.reversed = [...hooks].reverse();
  }

  /** In order; the first verdict ends the pod and the rest are not asked. */
  async prerun(): Promise<PodVerdict | undefined> {
    for (const h of this.hooks) {
      const prerun = h.prerun;
      if (!prerun) continue;
      const verdict = await this.stages.time(`prerun/${h.name}`, () => prerun.call(h, this.run));
      if (verdict) return verdict;
    }
    return undefined;
  }

  /** In order; when one throws, those that ran are undone (poststop, reverse) and it rethrows. */
  async prestart(a: AttemptSetup): Promise<void> {
    const done: PodHook[] = [];
    try {
      for (const h of this.hooks) {
        done.push(h);
        const prestart = h.prestart;
        if (prestart) await this.stages.time(`prestart/${h.name}`, () => prestart.call(h, this.run, a));
      }
    } catch (err) {
      for (const h of done.reverse())
        await h
          .poststop?.(this.run, a)
          .catch((e: unknown) => warn(`${h.name}: undo failed`, a.id, String(e)));
      throw err;
    }
  }

  /** Every hook hears of the start; the first kill verdict is kept. */
  async poststart(a: ContainerAttempt): Promise<AttemptVerdict | undefined> {
    let verdict: AttemptVerdict | undefined;
    for (const h of this.hooks) {
      const poststart = h.poststart;
      if (!poststart) continue;
      const v = await this.stages.time(`poststart/${h.name}`, () => poststart.call(h, this.run, a));
      verdict ??= v;
    }
    return verdict;
  }

  async restore(a: ContainerAttempt): Promise<void> {
    for (const h of this.hooks) await h.restore?.(this.run, a);
  }

  /** In order; the first kill verdict stops the rest. */
  async running(a: ContainerAttempt): Promise<AttemptVerdict | undefined> {
    for (const h of this.hooks) {
      const running = h.running;
      if (!running) continue;
      const verdict = await this.stages.time(`running/${h.name}`, () => running.call(h, this.run, a));
      if (verdict) return verdict;
    }
    return undefined;
  }

  async exited(a: ContainerAttempt): Promise<void> {
    for (const h of this.hooks) await h.exited?.(this.run, a);
  }

  async prestop(a: ContainerAttempt, deadline: number): Promise<void> {
    for (const h of this.hooks) await h.prestop?.(this.run, a, deadline);
  }

  /** In reverse order; every hook runs, the first failure is thrown after. */
  poststop(ref: AttemptRef): Promise<void> {
    return this.allReversed((h) => h.poststop?.(this.run, ref));
  }

  /** In reverse order; every hook runs, the first failure is thrown after. */
  postrun(): Promise<void> {
    return this.allReversed((h) => h.postrun?.(this.run));
  }

  private async allReversed(stage: (h: PodHook) => Promise<void> | undefined): Promise<void> {
    let first: unknown;
    for (const h of this.reversed) {
      try {
        await stage(h);
      } catch (err) {
        first ??= err;
        warn(`${h.name}: teardown failed`, this.run.uid, String(err));
      }
    }
    if (first !== undefined) throw first;
  }
}
