/**
 * One pod's life on this node, as a level-triggered state machine: every sync runs the prestart
 * hooks (sandbox → volumes → images), notices containers that exited, runs init containers one at a
 * time to completion, starts the containers, restarts them by the restart policy with crash-loop
 * back-off, keeps their probes running, and reports the status when it changed. Termination is
 * graceful: not Ready first (reported), the endpoint-withdrawal wait, preStop, stop signal, SIGKILL
 * at the grace period's end, then the poststop hooks in reverse (cgroups, volumes, sandbox).
 *
 * Syncs never overlap: `kick()` queues at most one more. A worker given a pod whose containers run
 * (an agent restart) adopts them from the records in the pod dir without restarting them. Time goes
 * through the injected clock.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { EventRecorder } from "../../controlplane/controllers/events.js";
import { type Clock, realClock, type Timer } from "../../controlplane/util/clock.js";
import { tracer } from "../../controlplane/util/trace.js";
import type { Container, ContainerStatus, Pod, PodStatus } from "../../proto/gen/api.js";
import type { ImageStore } from "../runtime/images/index.js";
import type { OciRuntimeDriver } from "../runtime/shim/index.js";
import { type ContainerRecord, loadRecords, newRecord, saveRecord } from "./container-record.js";
import { ContainerRunner, podSubject, rfc3339 } from "./container-runner.js";
import { type BackoffSettings, CrashBackoff } from "./crash-backoff.js";
import type { ObjectLookup } from "./object-lookup.js";
import {
  cgroupHook,
  endpointWithdrawalHook,
  imageHook,
  type PodContext,
  type PodHook,
  type SandboxNetwork,
  sandboxHook,
  volumesHook,
} from "./pod-hooks.js";
import type { PodMetrics } from "./pod-metrics.js";
import { computePodStatus, podPhase } from "./pod-status.js";
import { directDialer, type ProbeDialer } from "./probe-dialer.js";
import { type ProbeKind, ProbeWorker, probeCheck, probeSettings } from "./probes.js";

const trace = tracer("pod-worker");

export interface PodWorkerDeps {
  nodeName: string;
  /** `status.hostIP`: the node's address. */
  hostIP: string;
  /** The agent's state dir; the worker owns `pods/<uid>/` in it (besides the network module's part). */
  stateDir: string;
  images: ImageStore;
  network: SandboxNetwork;
  runtime: OciRuntimeDriver;
  /** Absolute cgroup path the pods go under (see `agentCgroupParent`). */
  cgroupParent: string;
  lookup: ObjectLookup;
  /** Called with the new status whenever it changed; the integrator sends it to the control plane. */
  reportStatus(pod: Pod, status: PodStatus): void;
  events: EventRecorder;
  /**
   * Resolves once the control plane has withdrawn this (now not Ready) pod from its Services'
   * endpoints; the worker waits for it, at most until the grace period ends, before stopping
   * containers. `signal` aborts when the worker stops waiting. Without it the worker does not wait.
   */
  waitForEndpointWithdrawal?(pod: Pod, signal: AbortSignal): Promise<void>;
  clock?: Clock;
  backoff?: BackoffSettings;
  dialer?: ProbeDialer;
  metrics?: PodMetrics;
  /** How often running containers are checked for exit (a /proc read each); default 1000 ms. */
  pollIntervalMs?: number;
  /** How often a held pod (missing image, ConfigMap, failed hook) is retried; default 10 s. */
  resyncMs?: number;
  pidsLimit?: number;
}

interface ContainerProbes {
  startup?: ProbeWorker;
  readiness?: ProbeWorker;
  liveness?: ProbeWorker;
  /** Set when liveness or startup failed: the container is to be killed and restarted. */
  unhealthy?: { kind: ProbeKind; message: string };
}

export class PodWorker {
  private readonly clock: Clock;
  private readonly runner: ContainerRunner;
  private readonly backoff: CrashBackoff;
  private readonly hooks: PodHook[];
  private readonly ctx: PodContext;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly probes = new Map<string, ContainerProbes>();
  private readonly firstSeen: number;
  private loaded = false;
  private syncing = false;
  private again = false;
  private pollTimer: Timer | undefined;
  private wakeTimer: Timer | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private status: PodStatus | undefined;
  private reported = "";
  private holdReason: { reason: string; message: string } | undefined;
  private startTime: string | undefined;
  private observedRunning = false;
  private observedReady = false;
  private termination:
    | { gracePeriodSeconds: number | undefined; done: Promise<void>; resolve: () => void }
    | undefined;
  private finished = false;
  private stopped = false;

  constructor(
    pod: Pod,
    private readonly d: PodWorkerDeps,
  ) {
    this.clock = d.clock ?? realClock;
    this.firstSeen = this.clock.now();
    this.backoff = new CrashBackoff(this.clock, d.backoff);
    this.runner = new ContainerRunner({
      runtime: d.runtime,
      images: d.images,
      lookup: d.lookup,
      events: d.events,
      clock: this.clock,
      dialer: d.dialer ?? directDialer,
      cgroupParent: d.cgroupParent,
      hostIP: d.hostIP,
      ...(d.pidsLimit !== undefined && { pidsLimit: d.pidsLimit }),
    });
    this.ctx = {
      pod,
      podDir: join(d.stateDir, "pods", pod.metadata.uid ?? ""),
      volumes: new Map(),
      images: new Map(),
    };
    this.hooks = [
      sandboxHook(d.network),
      cgroupHook(d.cgroupParent),
      volumesHook(d.lookup),
      imageHook(d.images),
      ...(d.waitForEndpointWithdrawal
        ? [endpointWithdrawalHook((p, s) => d.waitForEndpointWithdrawal!(p, s), this.clock)]
        : []),
    ];
  }

  get pod(): Pod {
    return this.ctx.pod;
  }

  /** The last computed status. */
  get currentStatus(): PodStatus | undefined {
    return this.status;
  }

  /** Starts syncing (and adopting what already runs). */
  start(): void {
    this.kick();
  }

  /** A new version of the pod; one with a deletionTimestamp starts graceful termination. */
  update(pod: Pod): void {
    this.ctx.pod = pod;
    if (pod.metadata.deletionTimestamp !== undefined) void this.terminate();
    else this.kick();
  }

  /**
   * Stops the pod gracefully and removes everything it had on this node; resolves when done.
   * The grace period is `gracePeriodSeconds`, else the pod's deletionGracePeriodSeconds, else
   * spec.terminationGracePeriodSeconds, else 30.
   */
  terminate(gracePeriodSeconds?: number): Promise<void> {
    if (this.stopped)
      return Promise.reject(new Error(`pod worker for ${this.ctx.pod.metadata.name} was stopped`));
    if (this.termination === undefined) {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      this.termination = { gracePeriodSeconds, done, resolve };
      this.kick();
    }
    return this.termination.done;
  }

  /** Stops the worker without touching its containers (agent shutdown): they are adopted later. */
  stop(): void {
    this.stopped = true;
    this.pollTimer?.cancel();
    this.wakeTimer?.cancel();
    for (const p of this.probes.values()) stopProbes(p);
    this.probes.clear();
  }

  private kick(): void {
    if (this.stopped || this.finished) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const started = performance.now();
      try {
        if (this.termination !== undefined) await this.terminateNow();
        else await this.sync();
      } catch (err) {
        trace("sync failed", { pod: this.ctx.pod.metadata.name, error: (err as Error).message });
        this.wake(this.d.resyncMs ?? 10_000);
      }
      this.d.metrics?.syncSeconds.observe((performance.now() - started) / 1000);
    } while (this.again && !this.stopped && !this.finished);
    this.syncing = false;
  }

  private async sync(): Promise<void> {
    const ctx = this.ctx;
    if (!this.loaded) await this.adopt();
    try {
      for (const h of this.hooks) await h.prestart?.(ctx);
      this.holdReason = undefined;
    } catch (err) {
      const message = (err as Error).message;
      const reason = ctx.sandbox === undefined ? "FailedCreatePodSandBox" : "FailedMount";
      if (this.holdReason?.message !== message) {
        this.d.events.event(podSubject(ctx.pod), "Warning", reason, message);
      }
      this.holdReason = { reason, message };
      this.report();
      this.wake(this.d.resyncMs ?? 10_000);
      return;
    }
    this.startTime ??= rfc3339(this.clock.now());
    for (const rec of this.records.values()) {
      if (await this.runner.observe(rec)) await this.settle(rec);
    }
    const terminal = this.isTerminal();
    if (!terminal && (await this.stepInitContainers())) await this.stepContainers();
    for (const h of this.hooks) await h.poststart?.(ctx);
    this.report();
    if (this.isTerminal()) {
      for (const p of this.probes.values()) stopProbes(p);
      this.probes.clear();
    } else {
      this.poll();
    }
  }

  /** Loads saved records; `observe` then finds which attempts still run and keeps them. */
  private async adopt(): Promise<void> {
    for (const rec of await loadRecords(this.ctx.podDir)) this.records.set(key(rec.name, rec.init), rec);
    this.loaded = true;
  }

  /** Runs init containers in order; true when all completed successfully. */
  private async stepInitContainers(): Promise<boolean> {
    const policy = this.ctx.pod.spec?.restartPolicy ?? "Always";
    for (const [i, c] of (this.ctx.pod.spec?.initContainers ?? []).entries()) {
      const rec = this.record(c, true, "PodInitializing");
      if (rec.state.terminated?.exitCode === 0) continue;
      if (rec.state.running) return false;
      const ended = rec.state.terminated ?? (rec.id !== undefined ? rec.lastState?.terminated : undefined);
      if (ended !== undefined) {
        if (policy !== "Never") await this.restart(rec, c, `spec.initContainers[${i}]`);
        return false;
      }
      await this.startContainer(rec, c, `spec.initContainers[${i}]`);
      return false;
    }
    return true;
  }

  private async stepContainers(): Promise<void> {
    const policy = this.ctx.pod.spec?.restartPolicy ?? "Always";
    for (const [i, c] of (this.ctx.pod.spec?.containers ?? []).entries()) {
      const where = `spec.containers[${i}]`;
      const rec = this.record(c, false, "ContainerCreating");
      if (rec.state.running) {
        this.startProbes(rec, c, where);
        const unhealthy = this.probes.get(rec.id!)?.unhealthy;
        if (unhealthy === undefined) continue;
        this.d.events.event(
          podSubject(this.ctx.pod),
          "Normal",
          "Killing",
          `Container ${c.name} failed ${unhealthy.kind} probe, will be restarted`,
        );
        await this.runner.stop(this.ctx, rec, c, this.clock.now() + this.gracePeriodMs());
        await this.settle(rec);
      }
      if (rec.id === undefined) {
        await this.startContainer(rec, c, where);
        continue;
      }
      const ended = rec.state.terminated ?? rec.lastState?.terminated;
      if (ended === undefined) {
        // Waiting before a new attempt could be made (image, config): try again.
        await this.startContainer(rec, c, where);
        continue;
      }
      if (policy === "Always" || (policy === "OnFailure" && ended.exitCode !== 0))
        await this.restart(rec, c, where);
    }
  }

  private record(c: Container, init: boolean, reason: string): ContainerRecord {
    const k = key(c.name ?? "", init);
    let rec = this.records.get(k);
    if (rec === undefined) {
      rec = newRecord(c.name ?? "", init, reason);
      this.records.set(k, rec);
    }
    return rec;
  }

  private async startContainer(rec: ContainerRecord, c: Container, where: string): Promise<void> {
    const made = await this.runner.start(this.ctx, rec, c, where);
    if (made) {
      this.d.metrics?.containerStarts.inc({ kind: rec.init ? "init" : "regular" });
      if (rec.state.running) this.startProbes(rec, c, where);
      else await this.settle(rec);
    } else {
      this.wake(this.d.resyncMs ?? 10_000);
    }
    await saveRecord(this.ctx.podDir, rec);
  }

  /** A new attempt after the back-off, or CrashLoopBackOff until then. */
  private async restart(rec: ContainerRecord, c: Container, where: string): Promise<void> {
    const k = key(rec.name, rec.init);
    const remaining = this.backoff.remaining(k);
    if (rec.state.terminated !== undefined) rec.lastState = { terminated: rec.state.terminated };
    if (remaining > 0) {
      const pod = this.ctx.pod.metadata;
      const message = `back-off ${this.backoff.delay(k) / 1000}s restarting failed container=${rec.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`;
      if (rec.state.waiting?.reason !== "CrashLoopBackOff") {
        this.d.events.event(
          podSubject(this.ctx.pod),
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${rec.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})`,
        );
      }
      rec.state = { waiting: { reason: "CrashLoopBackOff", message } };
      await saveRecord(this.ctx.podDir, rec);
      this.wake(remaining);
      return;
    }
    this.backoff.restarted(k);
    rec.restarts++;
    this.d.metrics?.containerRestarts.inc();
    await this.startContainer(rec, c, where);
  }

  /** Bookkeeping after an attempt ended: back-off reset, probes gone, record saved. */
  private async settle(rec: ContainerRecord): Promise<void> {
    const t = rec.state.terminated;
    if (t !== undefined) {
      const ran = Date.parse(t.finishedAt ?? "") - Date.parse(t.startedAt ?? "");
      this.backoff.exited(key(rec.name, rec.init), Number.isNaN(ran) ? 0 : ran);
    }
    if (rec.id !== undefined && rec.state.running === undefined) {
      const p = this.probes.get(rec.id);
      if (p !== undefined) stopProbes(p);
      this.probes.delete(rec.id);
    }
    await saveRecord(this.ctx.podDir, rec);
  }

  private startProbes(rec: ContainerRecord, c: Container, where: string): void {
    if (rec.init || rec.id === undefined || this.probes.has(rec.id)) return;
    const id = rec.id;
    const set: ContainerProbes = {};
    this.probes.set(id, set);
    const make = (kind: ProbeKind): ProbeWorker | undefined => {
      const probe = c[`${kind}Probe`];
      if (probe === undefined) return undefined;
      const settings = probeSettings(probe);
      const label = kind[0]!.toUpperCase() + kind.slice(1);
      const check = probeCheck(
        probe,
        {
          driver: this.d.runtime,
          containerId: id,
          container: c,
          podIP: this.ctx.sandbox?.ip ?? "",
          dialer: this.d.dialer ?? directDialer,
        },
        settings.timeoutMs,
        `${where}.${kind}Probe`,
      );
      return new ProbeWorker({
        kind,
        settings,
        check,
        clock: this.clock,
        onRun: (ok, message) => {
          this.d.metrics?.probeResults.inc({ probe: kind, result: ok ? "success" : "failure" });
          if (!ok)
            this.d.events.event(
              podSubject(this.ctx.pod),
              "Warning",
              "Unhealthy",
              `${label} probe failed: ${message}`,
            );
        },
        onChange: (result, message) => {
          if (this.probes.get(id) !== set) return;
          if (result === "failure" && kind !== "readiness") set.unhealthy = { kind, message };
          if (kind === "startup" && result === "success") {
            set.startup?.stop();
            set.readiness?.start();
            set.liveness?.start();
          }
          this.kick();
        },
      });
    };
    try {
      set.startup = make("startup");
      set.readiness = make("readiness");
      set.liveness = make("liveness");
    } catch (err) {
      this.d.events.event(podSubject(this.ctx.pod), "Warning", "Unhealthy", (err as Error).message);
      return;
    }
    if (set.startup) set.startup.start();
    else {
      set.readiness?.start();
      set.liveness?.start();
    }
  }

  private containerStatus(c: Container, init: boolean): ContainerStatus {
    const rec = this.records.get(key(c.name ?? "", init));
    const terminating = this.termination !== undefined;
    const status: ContainerStatus = {
      name: c.name ?? "",
      state: rec?.state ?? {
        waiting: { reason: this.initPending() ? "PodInitializing" : "ContainerCreating" },
      },
      lastState: rec?.lastState ?? {},
      ready: false,
      restartCount: rec?.restarts ?? 0,
      image: c.image ?? "",
      imageID: rec?.imageID ?? "",
      started: false,
    };
    if (rec?.id !== undefined) status.containerID = `${this.d.runtime.name}://${rec.id}`;
    if (rec?.state.running && !init) {
      const p = this.probes.get(rec.id!);
      status.started = p?.startup === undefined || p.startup.result === "success";
      status.ready =
        !terminating && status.started && (p?.readiness === undefined || p.readiness.result === "success");
    }
    return status;
  }

  private report(): void {
    const pod = this.ctx.pod;
    const view = {
      initContainerStatuses: (pod.spec?.initContainers ?? []).map((c) => this.containerStatus(c, true)),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => this.containerStatus(c, false)),
      hostIP: this.d.hostIP,
      ...(this.ctx.sandbox !== undefined && { podIP: this.ctx.sandbox.ip }),
      ...(this.startTime !== undefined && { startTime: this.startTime }),
    };
    const status = computePodStatus(pod, view, this.status, rfc3339(this.clock.now()));
    this.status = status;
    const text = JSON.stringify(status);
    if (text === this.reported) return;
    this.reported = text;
    const since = (this.clock.now() - this.firstSeen) / 1000;
    if (!this.observedRunning && status.phase === "Running") {
      this.observedRunning = true;
      this.d.metrics?.startSeconds.observe({ to: "running" }, since);
    }
    const ready = status.conditions?.find((c) => c.type === "Ready")?.status === "True";
    if (!this.observedReady && ready) {
      this.observedReady = true;
      this.d.metrics?.startSeconds.observe({ to: "ready" }, since);
    }
    trace("status", { pod: pod.metadata.name, phase: status.phase, ready });
    this.d.reportStatus(pod, status);
  }

  /** True while init containers (if any) have not all completed. */
  private initPending(): boolean {
    return (this.ctx.pod.spec?.initContainers ?? []).some(
      (c) => this.records.get(key(c.name ?? "", true))?.state.terminated?.exitCode !== 0,
    );
  }

  private isTerminal(): boolean {
    const phase = podPhase(this.ctx.pod, {
      initContainerStatuses: (this.ctx.pod.spec?.initContainers ?? []).map((c) =>
        this.containerStatus(c, true),
      ),
      containerStatuses: (this.ctx.pod.spec?.containers ?? []).map((c) => this.containerStatus(c, false)),
    });
    return phase === "Succeeded" || phase === "Failed";
  }

  private gracePeriodMs(override?: number): number {
    const p = this.ctx.pod;
    return (
      (override ?? p.metadata.deletionGracePeriodSeconds ?? p.spec?.terminationGracePeriodSeconds ?? 30) *
      1000
    );
  }

  private async terminateNow(): Promise<void> {
    const ctx = this.ctx;
    const term = this.termination!;
    this.pollTimer?.cancel();
    this.wakeTimer?.cancel();
    if (!this.loaded) await this.adopt();
    for (const rec of this.records.values()) await this.runner.observe(rec);
    ctx.deadline = this.clock.now() + this.gracePeriodMs(term.gracePeriodSeconds);
    // Not Ready first, so the endpoints drop the pod before anything stops.
    this.report();
    for (const p of this.probes.values()) stopProbes(p);
    this.probes.clear();
    for (const h of this.hooks) await h.prestop?.(ctx);
    const spec = ctx.pod.spec;
    const all = [
      ...(spec?.initContainers ?? []).map((c) => [c, true] as const),
      ...(spec?.containers ?? []).map((c) => [c, false] as const),
    ];
    await Promise.all(
      all.map(async ([c, init]) => {
        const rec = this.records.get(key(c.name ?? "", init));
        if (rec?.state.running === undefined) return;
        this.d.events.event(podSubject(ctx.pod), "Normal", "Killing", `Stopping container ${c.name}`);
        await this.runner.stop(ctx, rec, c, ctx.deadline!);
      }),
    );
    for (const rec of this.records.values()) {
      for (const id of [rec.previousId, rec.id]) if (id !== undefined) await this.runner.remove(id);
    }
    for (const h of [...this.hooks].reverse()) await h.poststop?.(ctx);
    // A deleted pod ends in a terminal phase, as the kubelet reports it: no container restarts any more.
    ctx.pod = { ...ctx.pod, spec: { ...ctx.pod.spec, restartPolicy: "Never" } };
    this.report();
    await rm(ctx.podDir, { recursive: true, force: true });
    this.finished = true;
    term.resolve();
  }

  /** Checks running containers for exit every poll interval (reads /proc; no process is spawned). */
  private poll(): void {
    this.pollTimer?.cancel();
    const running = [...this.records.values()].filter((r) => r.state.running !== undefined);
    if (running.length === 0) return;
    this.pollTimer = this.clock.setTimer(this.d.pollIntervalMs ?? 1000, async () => {
      for (const rec of running) {
        if (!(await this.runner.alive(rec))) {
          this.kick();
          return;
        }
      }
      this.poll();
    });
  }

  /** Syncs again in `ms` (the earliest of all requested wake-ups wins). */
  private wake(ms: number): void {
    const at = this.clock.now() + ms;
    if (at >= this.wakeAt && this.wakeTimer !== undefined) return;
    this.wakeTimer?.cancel();
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(ms, () => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.kick();
    });
  }
}

function key(name: string, init: boolean): string {
  return `${init ? "init:" : ""}${name}`;
}

function stopProbes(p: ContainerProbes): void {
  p.startup?.stop();
  p.readiness?.stop();
  p.liveness?.stop();
}
