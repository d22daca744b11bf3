/**
 * The attempts of a pod's containers: each start is a new runtime container that the hooks prepare
 * (prestart), the runtime starts and the hooks follow (poststart); an exit is read back from the
 * runtime and the hooks hear of it (exited); a kill is SIGTERM, the grace period, SIGKILL; an
 * attempt is removed with the runtime's container first, then the hooks' parts (poststop, reverse).
 * What happened lands in the container's record; the worker decides when (loop, restart policy).
 */

import { logWarning } from "../../foundation/util/log.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Container } from "../../proto/gen/api.js";
import { type ContainerRecord, containerId, exitRecordOf, parseContainerId } from "./container-record.js";
import { type AttemptSetup, type ContainerAttempt, HookError, type PodRun } from "./pod-hook.js";
import type { HookChain } from "./pod-hooks.js";

const warn = (message: string, ...details: unknown[]) => logWarning("pod-worker", message, ...details);

export class ContainerAttempts {
  constructor(
    private readonly run: PodRun,
    private readonly hooks: HookChain,
  ) {}

  attempt(spec: Container, rec: ContainerRecord): ContainerAttempt {
    return { id: rec.id ?? "", name: rec.name, attempt: rec.attempt, spec, rec };
  }

  /** Reads the runtime's view of the current attempt and records an exit. */
  async refresh(rec: ContainerRecord, spec: Container | undefined): Promise<void> {
    if (!rec.running || !rec.id) return;
    const state = await this.run.deps.runtime.state(rec.id);
    if (state && state.status !== "stopped") return;
    Object.assign(rec, { running: false, ready: false, started: false, waiting: undefined });
    rec.exit = exitRecordOf(state, rec, rfc3339(this.run.deps.clock.now()));
    if (rec.exit.reason === "OOMKilled")
      this.run.event("Warning", "OOMKilling", `Container ${rec.name} was OOM-killed`);
    if (spec) await this.hooks.exited(this.attempt(spec, rec));
  }

  /**
   * Starts a new attempt and then removes the one it replaces. When it cannot start, the record
   * waits with the reason (a hook's, or RunContainerError) and nothing of the attempt is left.
   */
  async start(spec: Container, rec: ContainerRecord): Promise<void> {
    const attempt = rec.id ? rec.attempt + 1 : rec.attempt;
    const id = containerId(this.run.uid, rec.name, attempt);
    const a: AttemptSetup = { id, name: rec.name, attempt, spec, rec, mounts: [] };
    try {
      await this.hooks.prestart(a);
      const { runtime, startLimit } = this.run.deps;
      const { stages } = this.hooks;
      const queued = performance.now();
      await startLimit
        .run(() => {
          stages.add("create-wait", performance.now() - queued);
          return stages.time("create", () => runtime.createAndStart(id, a.bundle!));
        })
        .catch(async (err: unknown) => {
          await this.hooks.poststop(a).catch(() => undefined);
          throw err;
        });
    } catch (err) {
      const reason = err instanceof HookError ? err.reason : "RunContainerError";
      const message = (err as Error).message;
      if (rec.waiting?.reason !== reason || rec.waiting.message !== message)
        warn(`container ${rec.name} failed to start: ${reason}`, this.run.uid, message);
      if (rec.waiting?.reason !== reason)
        this.run.event("Warning", reason === "RunContainerError" ? "Failed" : reason, `Error: ${message}`);
      rec.waiting = { reason, message };
      return;
    }
    const replaced = rec.id;
    if (replaced) {
      rec.restartCount++;
      rec.lastExit = rec.exit;
    }
    const now = this.run.deps.clock.now();
    Object.assign(rec, { id, attempt, running: true, exit: undefined, waiting: undefined, backoffUntil: 0 });
    Object.assign(rec, { startedAtMs: now, startedAt: rfc3339(now) });
    this.run.event("Normal", "Started", `Started container ${rec.name}`);
    // The new attempt is recorded first: removing the old one (runtime delete, rootfs unmount) took
    // up to 3.6 s on a loaded host, and the restart, its start time and its probes' clock waited.
    if (replaced)
      await this.remove(replaced).catch((err: unknown) => warn("remove failed", replaced, String(err)));
    const verdict = await this.hooks.poststart(a);
    if (verdict) await this.kill(spec, rec, verdict.kill);
  }

  /** Runs the hooks that watch a running attempt; kills it when one condemns it (failed liveness). */
  async watch(spec: Container, rec: ContainerRecord): Promise<void> {
    const verdict = await this.hooks.running(this.attempt(spec, rec));
    if (verdict) await this.kill(spec, rec, verdict.kill);
  }

  /** Kills the current attempt within the pod's grace period, saying why, and records its exit. */
  async kill(spec: Container, rec: ContainerRecord, message: string): Promise<void> {
    this.run.event("Normal", "Killing", message);
    await this.stop(rec, (this.run.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
    await this.refresh(rec, spec);
  }

  /** Stops the attempt for the pod's stop: preStop (the hooks' prestop), SIGTERM, SIGKILL at `deadline`. */
  async terminate(spec: Container | undefined, rec: ContainerRecord, deadline: number): Promise<void> {
    if (spec) await this.hooks.prestop(this.attempt(spec, rec), deadline);
    this.run.event("Normal", "Killing", `Stopping container ${rec.name}`);
    await this.stop(rec, Math.max(0, deadline - this.run.deps.clock.now()));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the container stopped. */
  async stop(rec: ContainerRecord, graceMs: number): Promise<void> {
    if (!rec.id || !rec.running) return;
    const { runtime, clock } = this.run.deps;
    const id = rec.id;
    const stopped = async () => {
      const state = await runtime.state(id);
      return !state || state.status === "stopped";
    };
    await runtime.kill(id, "TERM");
    const deadline = clock.now() + graceMs;
    while (clock.now() < deadline) {
      if (await stopped()) return;
      await clock.sleep(100);
    }
    if (await stopped()) return;
    await runtime.kill(id, "KILL");
    for (let i = 0; i < 50 && !(await stopped()); i++) await clock.sleep(100);
  }

  /** Deletes an attempt's container, then what its hooks made for it. */
  async remove(id: string): Promise<void> {
    await this.run.deps.runtime.delete(id, true);
    const ref = parseContainerId(id);
    if (ref) await this.hooks.poststop({ id, name: ref.name, attempt: ref.attempt });
  }

  /** Every attempt of this pod the runtime has, of this agent or an earlier one. */
  async ids(): Promise<string[]> {
    const entries = await this.run.deps.runtime.containerIds();
    return entries.filter((e) => parseContainerId(e)?.podUID === this.run.uid);
  }

  /**
   * Takes over the newest attempt of `rec` that a previous agent started, if the runtime still
   * has it: the hooks restore their part, and one that ended meanwhile is recorded as exited.
   */
  async adopt(spec: Container, rec: ContainerRecord, ids: readonly string[]): Promise<void> {
    const attempts = ids.map(parseContainerId).filter((p) => p?.name === rec.name);
    if (attempts.length === 0) return;
    const attempt = Math.max(...attempts.map((p) => p!.attempt));
    const id = containerId(this.run.uid, rec.name, attempt);
    const state = await this.run.deps.runtime.state(id);
    if (!state) return;
    const now = this.run.deps.clock.now();
    Object.assign(rec, { id, attempt, restartCount: attempt, startedAtMs: now, startedAt: rfc3339(now) });
    rec.running = state.status !== "stopped";
    rec.waiting = undefined;
    await this.hooks.restore(this.attempt(spec, rec));
    if (!rec.running) {
      rec.running = true;
      await this.refresh(rec, spec);
    }
  }
}
