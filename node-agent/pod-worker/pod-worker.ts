/**
 * One pod's life on this node, as a level-triggered loop: each `sync` runs the pod's hooks
 * (pod-hooks.ts: sandbox, volumes, ... which make and unmake everything the containers need), then
 * starts init containers in order and the containers, restarts them with crash-loop backoff, and
 * reports the status when it changed. Deletion is graceful: not Ready first (so endpoints drop the
 * pod), preStop, SIGTERM, the grace period, SIGKILL, then the hooks' teardown in reverse.
 *
 * Syncs never overlap: `kick()` queues at most one more. Everything that touches time takes the
 * injected clock, so tests can drive backoff and probes.
 */

import { rm } from "node:fs/promises";
import type { Timer } from "../../foundation/util/clock.js";
import { logWarning } from "../../foundation/util/log.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Container, Pod } from "../../proto/gen/api.js";
import { ContainerAttempts } from "./container-attempts.js";
import { backoffStep, type ContainerRecord, newRecord } from "./container-record.js";
import type { PodHook } from "./pod-hook.js";
import { HookError } from "./pod-hook.js";
import { createPodHooks, HookChain, newPodRun, type WorkerRun } from "./pod-hooks.js";
import { StartLatency, StartStages } from "./pod-metrics.js";
import { computePodStatus } from "./pod-status.js";
import type { PodWorkerDeps } from "./pod-worker-deps.js";

export type { EventType, PodWorkerDeps } from "./pod-worker-deps.js";

const trace = tracer("pod-worker");
const warn = (message: string, ...details: unknown[]) => logWarning("pod-worker", message, ...details);
const defaultBackoff = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };
type Failure = { reason: string; message: string };

export class PodWorker {
  private readonly run: WorkerRun;
  private readonly hooks: HookChain;
  private readonly attempts: ContainerAttempts;
  private readonly records = new Map<string, ContainerRecord>();
  /** A pod-level setup failure: the pod waits in Pending. */
  private podError: Failure | undefined;
  /** The pod's end from a hook's verdict (DeadlineExceeded): Failed for good. */
  private failure: Failure | undefined;
  private lastReported = "";
  private running = false;
  private again = false;
  private timer: Timer | undefined;
  private terminating = false;
  private stopped = false;
  /** The agent is shutting down: leave everything as it is for the next agent. */
  private detached = false;
  private finished: Promise<void> | undefined;
  private readonly startLatency: StartLatency;

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
    hooks: readonly PodHook[] = createPodHooks(),
  ) {
    this.run = newPodRun(pod, deps);
    this.hooks = new HookChain(hooks, this.run, new StartStages(deps.metrics, this.run.uid));
    this.attempts = new ContainerAttempts(this.run, this.hooks);
    this.startLatency = new StartLatency(deps.clock.now(), deps.metrics);
    for (const c of pod.spec?.initContainers ?? [])
      this.records.set(c.name ?? "", newRecord(c.name ?? "", true));
    for (const c of pod.spec?.containers ?? [])
      this.records.set(c.name ?? "", newRecord(c.name ?? "", false));
  }

  get currentPod(): Pod {
    return this.run.pod;
  }

  get uid(): string {
    return this.run.uid;
  }

  /** The pod's network namespace (an nsfs path), once its sandbox exists (for port-forward). */
  get netnsPath(): string | undefined {
    return this.run.sandbox?.netnsPath;
  }

  /** The records of this pod's containers (for logs and exec). */
  container(name: string | undefined): ContainerRecord | undefined {
    if (name) return this.records.get(name);
    return [...this.records.values()].find((r) => !r.init);
  }

  /** Adopts containers a previous agent left running, then starts the loop. */
  async start(): Promise<void> {
    const ids = await this.hooks.stages.time("adopt", () => this.attempts.ids());
    for (const rec of this.records.values()) {
      const spec = this.specOf(rec.name);
      if (spec) await this.attempts.adopt(spec, rec, ids);
    }
    this.kick();
  }

  /** A newer version of the pod arrived (labels, deletionTimestamp, status written elsewhere). */
  update(pod: Pod): void {
    this.run.pod = pod;
    this.kick();
  }

  /**
   * Stops the pod and removes what it had on this node. With `finalize` the control plane is told
   * to delete the pod object afterwards (graceful deletion). `kill` skips preStop hooks and the
   * grace period (SIGKILL at once), for a fence. Resolves when done; idempotent.
   */
  stop(finalize: boolean, kill = false): Promise<void> {
    this.finished ??= this.terminate(finalize, kill).catch((err: unknown) => {
      warn("termination failed", this.uid, String(err));
      this.finished = undefined;
      throw err;
    });
    return this.finished;
  }

  /** Stops looping but leaves the containers running (agent shutdown; the next agent adopts them). */
  detach(): void {
    this.stopped = true;
    this.detached = true;
    this.timer?.cancel();
  }

  private kick(): void {
    if (this.stopped || this.terminating) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const { clock, metrics } = this.deps;
    const began = clock.now();
    void this.sync()
      .then(() => metrics?.syncSeconds.observe((clock.now() - began) / 1000))
      .catch((err: unknown) => warn("sync failed", this.uid, String(err)))
      .finally(() => {
        this.running = false;
        if (this.stopped || this.terminating) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer?.cancel();
        this.timer = clock.setTimer(this.deps.resyncMs ?? 1000, () => this.kick());
      });
  }

  private async sync(): Promise<void> {
    const spec = this.run.pod.spec;
    if (this.run.pod.metadata.deletionTimestamp) {
      void this.stop(true).catch((err: unknown) => trace("termination failed", this.uid, String(err)));
      return;
    }
    if (this.failure) {
      for (const rec of this.records.values()) await this.attempts.refresh(rec, this.specOf(rec.name));
      return this.report();
    }
    try {
      const verdict = await this.hooks.prerun();
      this.podError = undefined;
      if (verdict) return this.fail(verdict.fail);
    } catch (err) {
      const reason = err instanceof HookError ? err.reason : "FailedCreatePodSandBox";
      const message = (err as Error).message;
      if (this.podError?.message !== message) this.run.event("Warning", reason, message);
      this.podError = { reason, message };
      return this.report();
    }
    for (const c of spec?.initContainers ?? []) {
      const rec = this.records.get(c.name ?? "")!;
      await this.attempts.refresh(rec, c);
      if (rec.exit?.exitCode === 0 && !rec.running) continue;
      await this.ensureRunning(c, rec);
      return this.report();
    }
    for (const c of spec?.containers ?? []) {
      const rec = this.records.get(c.name ?? "")!;
      await this.attempts.refresh(rec, c);
      await this.ensureRunning(c, rec);
      if (rec.running) await this.attempts.watch(c, rec);
    }
    await this.report();
  }

  private specOf(name: string): Container | undefined {
    const spec = this.run.pod.spec;
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].find((c) => c.name === name);
  }

  private shouldRestart(rec: ContainerRecord): boolean {
    if (!rec.exit) return true;
    const policy = this.run.pod.spec?.restartPolicy ?? "Always";
    if (rec.init) return rec.exit.exitCode !== 0 && policy !== "Never";
    return policy === "Always" || (policy === "OnFailure" && rec.exit.exitCode !== 0);
  }

  private async ensureRunning(spec: Container, rec: ContainerRecord): Promise<void> {
    if (rec.running || !this.shouldRestart(rec)) return;
    const now = this.deps.clock.now();
    if (rec.exit) {
      if (rec.backoffUntil === 0) {
        const step = backoffStep(rec, now, this.deps.backoff ?? defaultBackoff);
        rec.backoffUntil = now + step.delayMs;
        rec.backoffMs = step.nextMs;
        rec.currentDelayMs = step.delayMs;
      }
      if (now < rec.backoffUntil) {
        const message = `back-off ${Math.round(rec.currentDelayMs / 1000)}s restarting failed container=${rec.name} pod=${this.run.pod.metadata.name}`;
        if (rec.waiting?.reason !== "CrashLoopBackOff") this.run.event("Warning", "BackOff", message);
        rec.waiting = { reason: "CrashLoopBackOff", message };
        return;
      }
    }
    await this.attempts.start(spec, rec);
  }

  /** The pod has ended as a whole (a hook's verdict): its containers are killed and stay down. */
  private async fail(failure: Failure): Promise<void> {
    this.failure = failure;
    this.run.event("Normal", failure.reason, failure.message);
    const live = [...this.records.values()].filter((r) => r.running);
    await Promise.all(
      live.map((rec) => this.attempts.kill(this.specOf(rec.name)!, rec, `Stopping container ${rec.name}`)),
    );
    await this.report();
  }

  private async report(): Promise<void> {
    const now = this.deps.clock.now();
    const status = computePodStatus({
      pod: this.run.pod,
      records: [...this.records.values()],
      ...(this.run.sandbox ? { podIP: this.run.sandbox.ip } : {}),
      hostIP: this.deps.hostIP,
      startTime: this.run.startTime,
      now: rfc3339(now),
      terminating: this.terminating,
      ...(this.podError ? { podError: this.podError } : {}),
      ...(this.failure ? { podFailure: this.failure } : {}),
      images: this.run.images,
    });
    this.startLatency.observe(status, now);
    const text = JSON.stringify(status);
    if (text === this.lastReported) return;
    try {
      const { stages } = this.hooks;
      await stages.time("report", () => this.deps.reportStatus(this.run.pod, status));
      if (status.phase === "Running") stages.close();
      this.lastReported = text;
      this.run.pod = { ...this.run.pod, status };
    } catch (err) {
      warn("status report failed", this.uid, String(err));
    }
  }

  private async terminate(finalize: boolean, kill: boolean): Promise<void> {
    trace("terminating", this.uid, { finalize, kill });
    this.terminating = true;
    this.timer?.cancel();
    const { clock } = this.deps;
    // A fence kills before waiting for a sync under way: that sync may be waiting seconds on a
    // control plane this host has lost. A container it was starting meanwhile is killed as soon
    // as it runs, not when the sync ends.
    const killed = new Set<string>();
    const killNew = () =>
      Promise.all(
        [...this.records.values()]
          .filter((rec) => kill && rec.running && rec.id && !killed.has(rec.id))
          .map((rec) => {
            killed.add(rec.id!);
            return this.attempts.stop(rec, 0);
          }),
      );
    await killNew();
    while (this.running) {
      await clock.sleep(20);
      await killNew();
    }
    const { pod } = this.run;
    const graceMs = kill
      ? 0
      : (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    const deadline = clock.now() + graceMs;
    const live = [...this.records.values()].filter((r) => r.running);
    for (const r of live) r.ready = false;
    if (finalize) await this.report();
    if (finalize && live.length) await this.deps.waitForEndpointsWithdrawn?.(this.run.pod, deadline);
    await Promise.all(
      live.map((rec) => this.attempts.terminate(kill ? undefined : this.specOf(rec.name), rec, deadline)),
    );
    for (const id of await this.attempts.ids())
      await this.attempts.remove(id).catch((err: unknown) => warn("remove failed", id, String(err)));
    await this.hooks.postrun();
    await rm(this.run.podDir, { recursive: true, force: true });
    this.stopped = true;
    // The control plane may be away (restarting); the pod object must still go once it is back.
    while (finalize && !this.detached) {
      try {
        await this.deps.finalizeDeletion(this.run.pod);
        break;
      } catch (err) {
        warn("finalize failed; retrying", this.uid, String(err));
        await clock.sleep(2_000);
      }
    }
  }
}
