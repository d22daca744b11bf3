/**
 * One pod's life on this node, as a level-triggered loop: each `sync` compares the desired pod with
 * what runs and takes the next steps — sandbox (netns, veth, address), volumes, init containers in
 * order, then containers, restarts with crash-loop backoff, probes — and reports the status when it
 * changed. Deletion is graceful: not Ready first (so endpoints drop the pod), preStop, SIGTERM, the
 * grace period, SIGKILL, then containers, rootfs, volumes and sandbox are removed.
 *
 * Syncs never overlap: `kick()` queues at most one more. Everything that touches time takes the
 * injected clock, so tests can drive backoff and probes.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { quantityMilliValue, quantityValue } from "../../controlplane/api/quantity.js";
import type { Clock, Timer } from "../../controlplane/util/clock.js";
import { logWarning } from "../../controlplane/util/log.js";
import { tracer } from "../../controlplane/util/trace.js";
import type { Container, Pod, PodStatus } from "../../proto/gen/api.js";
import type { PodCgroups } from "../cgroups/pod-cgroups.js";
import type { PodNetwork, Sandbox } from "../network/index.js";
import { ImageError, type ImageStore, isImageNotFound } from "../runtime/images/index.js";
import { writeContainerBundle } from "../runtime/oci/container-config.js";
import type { RuntimeClient } from "../runtime/oci/runtime-client.js";
import {
  type BackoffPolicy,
  backoffStep,
  type ContainerRecord,
  containerId,
  type ExitRecord,
  newRecord,
  parseContainerId,
} from "./container-record.js";
import { EnvError, resolveEnv } from "./env.js";
import { type HookTarget, runHook } from "./lifecycle-hooks.js";
import type { ObjectLookup } from "./object-lookup.js";
import type { PodMetrics } from "./pod-metrics.js";
import { computePodStatus } from "./pod-status.js";
import { runProbe } from "./probes.js";
import { containerSecurity, type NodeSecurity, SecurityContextError } from "./security-context.js";
import {
  type HostVolume,
  prepareContainerMounts,
  prepareVolumes,
  releaseContainerMounts,
  releaseVolumes,
  VolumeError,
} from "./volumes.js";

const trace = tracer("pod-worker");
const warn = (message: string, ...details: unknown[]) => logWarning("pod-worker", message, ...details);

export type EventType = "Normal" | "Warning";

export interface PodWorkerDeps {
  nodeName: string;
  hostIP: string;
  /** The agent's state dir; pods live in `<stateDir>/pods/<uid>`. */
  stateDir: string;
  /** Where this node's pods live in the cgroup tree. */
  cgroups: PodCgroups;
  runtime: RuntimeClient;
  images: ImageStore;
  network: PodNetwork;
  security: NodeSecurity;
  lookup: ObjectLookup;
  clock: Clock;
  /** Sends a status through the control plane's status path. */
  reportStatus(pod: Pod, status: PodStatus): Promise<void>;
  /** Finishes a graceful deletion once everything is stopped (delete with grace 0). */
  finalizeDeletion(pod: Pod): Promise<void>;
  event(pod: Pod, type: EventType, reason: string, message: string): void;
  /**
   * Waits (at most until `deadline`, epoch ms) for the pod to leave every Service's endpoints, so
   * no new connection reaches it after SIGTERM. Resolves at once when nothing needs waiting for.
   */
  waitForEndpointsWithdrawn?(pod: Pod, deadline: number): Promise<void>;
  /** Variables every container gets before its own env (Service discovery variables). */
  serviceEnv?(namespace: string): Map<string, string>;
  backoff?: BackoffPolicy;
  metrics?: PodMetrics;
  /** How often the loop wakes to check containers and probes. Default 1 s. */
  resyncMs?: number;
}

// The kubelet gives postStart no bound, but a hook that never returns would stall this pod's loop.
const POST_START_BUDGET_MS = 120_000;

const defaultBackoff: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

const imagePullReason = (pod: Pod, c: Container) =>
  (c.imagePullPolicy ?? (pod.spec ? "IfNotPresent" : "IfNotPresent")) === "Never"
    ? "ErrImageNeverPull"
    : "ImagePullBackOff";

export class PodWorker {
  private pod: Pod;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly images = new Map<string, { image: string; imageID: string }>();
  private sandbox: Sandbox | undefined;
  private volumePaths: Map<string, HostVolume> | undefined;
  private podError: { reason: string; message: string } | undefined;
  private readonly startTime: string;
  private lastReported = "";
  private running = false;
  private again = false;
  private timer: Timer | undefined;
  private terminating = false;
  private stopped = false;
  /** The agent is shutting down: leave everything as it is for the next agent. */
  private detached = false;
  private finished: Promise<void> | undefined;
  private readonly podDir: string;
  /** When this worker got the pod, for the start-latency metric; cleared once observed. */
  private receivedAt: { running?: number; ready?: number };

  constructor(
    pod: Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.podDir = join(deps.stateDir, "pods", pod.metadata.uid ?? "");
    this.startTime = pod.status?.startTime ?? iso(deps.clock.now());
    this.receivedAt = { running: deps.clock.now(), ready: deps.clock.now() };
    for (const c of pod.spec?.initContainers ?? [])
      this.records.set(c.name ?? "", newRecord(c.name ?? "", true));
    for (const c of pod.spec?.containers ?? [])
      this.records.set(c.name ?? "", newRecord(c.name ?? "", false));
  }

  get currentPod(): Pod {
    return this.pod;
  }

  get uid(): string {
    return this.pod.metadata.uid ?? "";
  }

  /** The records of this pod's containers (for logs and exec). */
  container(name: string | undefined): ContainerRecord | undefined {
    if (name) return this.records.get(name);
    return [...this.records.values()].find((r) => !r.init);
  }

  /** Adopts containers a previous agent left running, then starts the loop. */
  async start(): Promise<void> {
    await this.adopt();
    this.kick();
  }

  /** A newer version of the pod arrived (labels, deletionTimestamp, status written elsewhere). */
  update(pod: Pod): void {
    this.pod = pod;
    this.kick();
  }

  /**
   * Stops the pod and removes what it had on this node. With `finalize` the control plane is told
   * to delete the pod object afterwards (graceful deletion). Resolves when done; idempotent.
   */
  stop(finalize: boolean): Promise<void> {
    this.finished ??= this.terminate(finalize).catch((err: unknown) => {
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
    const began = this.deps.clock.now();
    void this.sync()
      .then(() => this.deps.metrics?.syncSeconds.observe((this.deps.clock.now() - began) / 1000))
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
        this.timer = this.deps.clock.setTimer(this.deps.resyncMs ?? 1000, () => this.kick());
      });
  }

  private async sync(): Promise<void> {
    if (this.pod.metadata.deletionTimestamp) {
      void this.stop(true).catch((err: unknown) => trace("termination failed", this.uid, String(err)));
      return;
    }
    if (!(await this.ensureSandbox())) return this.report();
    const inits = (this.pod.spec?.initContainers ?? []).map(
      (c) => [c, this.records.get(c.name ?? "")!] as const,
    );
    for (const [spec, rec] of inits) {
      await this.refresh(rec);
      if (rec.exit?.exitCode === 0 && !rec.running) continue;
      await this.ensureRunning(spec, rec);
      return this.report();
    }
    for (const spec of this.pod.spec?.containers ?? []) {
      const rec = this.records.get(spec.name ?? "")!;
      await this.refresh(rec);
      await this.ensureRunning(spec, rec);
      if (rec.running) await this.probe(spec, rec);
    }
    await this.report();
  }

  private async ensureSandbox(): Promise<boolean> {
    try {
      this.sandbox ??= await this.deps.network.setupSandbox({
        podUID: this.uid,
        podName: this.pod.metadata.name ?? "",
        namespace: this.pod.metadata.namespace ?? "default",
        ...(this.pod.spec?.hostname ? { hostname: this.pod.spec.hostname } : {}),
      });
      this.volumePaths ??= await prepareVolumes(this.pod, this.podDir, this.deps.lookup);
      this.podError = undefined;
      return true;
    } catch (err) {
      const reason = err instanceof VolumeError ? "FailedMount" : "FailedCreatePodSandBox";
      const message = (err as Error).message;
      if (this.podError?.message !== message) this.deps.event(this.pod, "Warning", reason, message);
      this.podError = { reason, message };
      return false;
    }
  }

  /** Reads the runtime's view of the current attempt and records an exit. */
  private async refresh(rec: ContainerRecord): Promise<void> {
    if (!rec.running || !rec.id) return;
    const state = await this.deps.runtime.state(rec.id);
    if (state && state.status !== "stopped") return;
    const exit = state?.exit;
    const record: ExitRecord = {
      exitCode: exit ? (exit.signal ? 128 + exit.signal : exit.exitCode) : 137,
      signal: exit?.signal ?? 0,
      reason: exit?.oomKilled
        ? "OOMKilled"
        : exit && exit.exitCode === 0 && !exit.signal
          ? "Completed"
          : "Error",
      startedAt: rec.startedAt ?? "",
      finishedAt: exit?.finishedAt ?? iso(this.deps.clock.now()),
      containerID: `kshim://${rec.id}`,
    };
    rec.running = false;
    rec.ready = false;
    rec.started = false;
    rec.exit = record;
    rec.waiting = undefined;
    if (record.reason === "OOMKilled")
      this.deps.event(this.pod, "Warning", "OOMKilling", `Container ${rec.name} was OOM-killed`);
  }

  private shouldRestart(rec: ContainerRecord): boolean {
    if (!rec.exit) return true;
    const policy = this.pod.spec?.restartPolicy ?? "Always";
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
        const message = `back-off ${Math.round(rec.currentDelayMs / 1000)}s restarting failed container=${rec.name} pod=${this.pod.metadata.name}`;
        if (rec.waiting?.reason !== "CrashLoopBackOff")
          this.deps.event(this.pod, "Warning", "BackOff", message);
        rec.waiting = { reason: "CrashLoopBackOff", message };
        return;
      }
    }
    await this.startContainer(spec, rec);
  }

  private async startContainer(spec: Container, rec: ContainerRecord): Promise<void> {
    const sandbox = this.sandbox!;
    const ref = spec.image ?? "";
    let rootfs: Awaited<ReturnType<ImageStore["prepareRootfs"]>> | undefined;
    const attempt = rec.id ? rec.attempt + 1 : rec.attempt;
    const id = containerId(this.uid, rec.name, attempt);
    try {
      const image = await this.deps.images.resolve(ref);
      this.images.set(rec.name, { image: ref, imageID: image.imageId });
      const resolved = await resolveEnv(
        this.pod,
        spec,
        this.deps.lookup,
        { podIP: sandbox.ip, hostIP: this.deps.hostIP },
        this.deps.serviceEnv?.(this.pod.metadata.namespace ?? "default"),
      );
      rootfs = await this.deps.images.prepareRootfs(id, ref);
      const cfg = image.config;
      const args = resolved.command
        ? [...resolved.command, ...(resolved.args ?? [])]
        : [...cfg.entrypoint, ...(resolved.args ?? cfg.cmd)];
      if (args.length === 0)
        throw new EnvError(`container "${rec.name}": no command (the image has no entrypoint or cmd)`);
      const env = new Map(
        cfg.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] as [string, string]),
      );
      for (const [k, v] of resolved.env) env.set(k, v);
      const limits = spec.resources?.limits ?? {};
      const requests = spec.resources?.requests ?? {};
      const security = await containerSecurity(this.pod, spec, cfg.user, rootfs.path, this.deps.security);
      const logPath = join(this.podDir, "logs", rec.name, `${attempt}.log`);
      await mkdir(join(this.podDir, "logs", rec.name), { recursive: true });
      const bundle = await writeContainerBundle(join(this.podDir, "bundles", id), {
        rootfs: rootfs.path,
        args,
        env: [...env].map(([k, v]) => `${k}=${v}`),
        cwd: spec.workingDir || cfg.workingDir || "/",
        hostname: this.pod.spec?.hostname || (this.pod.metadata.name ?? "").slice(0, 63),
        netnsPath: sandbox.netnsPath,
        cgroupsPath: this.deps.cgroups.containerPath(this.uid, id),
        logPath,
        mounts: [
          { source: sandbox.files.hosts, destination: "/etc/hosts" },
          { source: sandbox.files.resolvConf, destination: "/etc/resolv.conf" },
          { source: sandbox.files.hostname, destination: "/etc/hostname" },
          ...(await prepareContainerMounts(
            this.podDir,
            id,
            spec.volumeMounts ?? [],
            this.volumePaths ?? new Map(),
          )),
        ],
        ...(limits.memory ? { memoryLimit: Math.floor(quantityValue(limits.memory)) } : {}),
        ...(limits.cpu ? { cpuLimitMilli: quantityMilliValue(limits.cpu) } : {}),
        ...(requests.cpu ? { cpuRequestMilli: quantityMilliValue(requests.cpu) } : {}),
        security,
      });
      await this.deps.runtime.createAndStart(id, bundle);
      if (rec.id) {
        await this.removeAttempt(rec.id);
        rec.restartCount++;
        rec.lastExit = rec.exit;
        rec.previousLogPath = rec.logPath;
      }
      rec.id = id;
      rec.attempt = attempt;
      rec.logPath = logPath;
      rec.running = true;
      rec.exit = undefined;
      rec.waiting = undefined;
      rec.backoffUntil = 0;
      rec.startedAtMs = this.deps.clock.now();
      rec.startedAt = iso(rec.startedAtMs);
      rec.started = !spec.startupProbe;
      rec.ready = !spec.readinessProbe && rec.started;
      for (const p of Object.values(rec.probes))
        Object.assign(p, { successes: 0, failures: 0, lastRunAt: 0 });
      this.deps.event(this.pod, "Normal", "Started", `Started container ${rec.name}`);
      this.deps.metrics?.containerStarts.inc({ kind: rec.init ? "init" : "regular" });
      if (rec.restartCount > 0) this.deps.metrics?.containerRestarts.inc();
    } catch (err) {
      await rootfs?.release().catch(() => undefined);
      await releaseContainerMounts(this.podDir, id).catch(() => undefined);
      const message = (err as Error).message;
      let reason = "RunContainerError";
      if (isImageNotFound(err)) reason = imagePullReason(this.pod, spec);
      else if (err instanceof EnvError || err instanceof VolumeError || err instanceof SecurityContextError)
        reason = "CreateContainerConfigError";
      else if (err instanceof ImageError) reason = "ErrImagePull";
      if (rec.waiting?.reason !== reason || rec.waiting.message !== message)
        warn(`container ${rec.name} failed to start: ${reason}`, this.uid, message);
      if (rec.waiting?.reason !== reason) {
        this.deps.event(
          this.pod,
          "Warning",
          reason === "RunContainerError" ? "Failed" : reason,
          `Error: ${message}`,
        );
      }
      rec.waiting = { reason, message };
      return;
    }
    await this.postStart(spec, rec);
  }

  /** Where probes and hooks of this attempt of `rec` run. */
  private hookTarget(spec: Container, rec: ContainerRecord): HookTarget {
    const id = rec.id!;
    return {
      podIP: this.sandbox?.ip ?? "",
      container: spec,
      exec: async (command, timeoutMs) => (await this.deps.runtime.exec(id, command, timeoutMs)).exitCode,
      sleep: (ms) => this.deps.clock.sleep(ms),
    };
  }

  /**
   * Runs the postStart hook of an attempt that just started; when it fails the attempt is killed
   * and the restart policy takes over, as with the kubelet.
   */
  private async postStart(spec: Container, rec: ContainerRecord): Promise<void> {
    const hook = spec.lifecycle?.postStart;
    if (!hook) return;
    const result = await runHook(hook, this.hookTarget(spec, rec), POST_START_BUDGET_MS);
    if (result.ok) return;
    const message = `PostStartHook failed: ${result.message}`;
    this.deps.event(this.pod, "Warning", "FailedPostStartHook", message);
    this.deps.event(this.pod, "Normal", "Killing", `FailedPostStartHook: ${message}`);
    await this.killAttempt(rec, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
    await this.refresh(rec);
  }

  private async probe(spec: Container, rec: ContainerRecord): Promise<void> {
    const now = this.deps.clock.now();
    const target = this.hookTarget(spec, rec);
    const due = (p: { initialDelaySeconds?: number; periodSeconds?: number }, c: { lastRunAt: number }) =>
      now - (rec.startedAtMs ?? now) >= (p.initialDelaySeconds ?? 0) * 1000 &&
      now - c.lastRunAt >= (p.periodSeconds ?? 10) * 1000;
    if (!rec.started && spec.startupProbe) {
      const c = rec.probes.startup;
      if (!due(spec.startupProbe, c)) return;
      c.lastRunAt = now;
      const result = await runProbe(spec.startupProbe, target);
      this.deps.metrics?.probeResults.inc({ probe: "startup", result: result.ok ? "success" : "failure" });
      if (result.ok) {
        rec.started = true;
        rec.ready = !spec.readinessProbe;
      } else if (++c.failures >= (spec.startupProbe.failureThreshold ?? 3)) {
        await this.restartUnhealthy(rec, `Startup probe failed: ${result.message}`);
      }
      return;
    }
    if (spec.livenessProbe && due(spec.livenessProbe, rec.probes.liveness)) {
      const c = rec.probes.liveness;
      c.lastRunAt = now;
      const result = await runProbe(spec.livenessProbe, target);
      this.deps.metrics?.probeResults.inc({ probe: "liveness", result: result.ok ? "success" : "failure" });
      if (result.ok) c.failures = 0;
      else {
        this.deps.event(this.pod, "Warning", "Unhealthy", `Liveness probe failed: ${result.message}`);
        if (++c.failures >= (spec.livenessProbe.failureThreshold ?? 3)) {
          await this.restartUnhealthy(rec, `Container ${rec.name} failed liveness probe, will be restarted`);
          return;
        }
      }
    }
    if (spec.readinessProbe && due(spec.readinessProbe, rec.probes.readiness)) {
      const c = rec.probes.readiness;
      c.lastRunAt = now;
      const result = await runProbe(spec.readinessProbe, target);
      this.deps.metrics?.probeResults.inc({ probe: "readiness", result: result.ok ? "success" : "failure" });
      if (result.ok) {
        c.failures = 0;
        if (++c.successes >= (spec.readinessProbe.successThreshold ?? 1)) rec.ready = true;
      } else {
        c.successes = 0;
        if (rec.ready || c.failures === 0)
          this.deps.event(this.pod, "Warning", "Unhealthy", `Readiness probe failed: ${result.message}`);
        if (++c.failures >= (spec.readinessProbe.failureThreshold ?? 3)) rec.ready = false;
      }
    }
  }

  /** Kills a container that failed its liveness or startup probe; the loop restarts it. */
  private async restartUnhealthy(rec: ContainerRecord, message: string): Promise<void> {
    this.deps.event(this.pod, "Normal", "Killing", message);
    await this.killAttempt(rec, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
    await this.refresh(rec);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the container stopped. */
  private async killAttempt(rec: ContainerRecord, graceMs: number): Promise<void> {
    if (!rec.id || !rec.running) return;
    const { runtime, clock } = this.deps;
    await runtime.kill(rec.id, "TERM");
    const deadline = clock.now() + graceMs;
    for (;;) {
      const state = await runtime.state(rec.id);
      if (!state || state.status === "stopped") return;
      if (clock.now() >= deadline) break;
      await clock.sleep(100);
    }
    await runtime.kill(rec.id, "KILL");
    for (let i = 0; i < 50; i++) {
      const state = await runtime.state(rec.id);
      if (!state || state.status === "stopped") return;
      await clock.sleep(100);
    }
  }

  private async removeAttempt(id: string): Promise<void> {
    await this.deps.runtime.delete(id, true);
    await this.deps.images.releaseRootfs(id);
    await releaseContainerMounts(this.podDir, id);
  }

  private async report(): Promise<void> {
    const status = computePodStatus({
      pod: this.pod,
      records: [...this.records.values()],
      ...(this.sandbox ? { podIP: this.sandbox.ip } : {}),
      hostIP: this.deps.hostIP,
      startTime: this.startTime,
      now: iso(this.deps.clock.now()),
      terminating: this.terminating,
      ...(this.podError ? { podError: this.podError } : {}),
      images: this.images,
    });
    this.observeStart(status);
    const text = JSON.stringify(status);
    if (text === this.lastReported) return;
    try {
      await this.deps.reportStatus(this.pod, status);
      this.lastReported = text;
      this.pod = { ...this.pod, status };
    } catch (err) {
      warn("status report failed", this.uid, String(err));
    }
  }

  /** Records how long this pod took from reaching the agent to Running, and to Ready, once each. */
  private observeStart(status: PodStatus): void {
    const now = this.deps.clock.now();
    if (this.receivedAt.running !== undefined && status.phase === "Running") {
      this.deps.metrics?.startSeconds.observe({ to: "running" }, (now - this.receivedAt.running) / 1000);
      this.receivedAt.running = undefined;
    }
    const ready = status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    if (this.receivedAt.ready !== undefined && ready) {
      this.deps.metrics?.startSeconds.observe({ to: "ready" }, (now - this.receivedAt.ready) / 1000);
      this.receivedAt.ready = undefined;
    }
  }

  private async terminate(finalize: boolean): Promise<void> {
    trace("terminating", this.uid, { finalize });
    this.terminating = true;
    this.timer?.cancel();
    while (this.running) await this.deps.clock.sleep(20);
    const graceMs =
      (this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30) *
      1000;
    const deadline = this.deps.clock.now() + graceMs;
    const live = [...this.records.values()].filter((r) => r.running);
    for (const r of live) r.ready = false;
    if (finalize) await this.report();
    if (finalize && live.length) await this.deps.waitForEndpointsWithdrawn?.(this.pod, deadline);
    await Promise.all(
      live.map(async (rec) => {
        const spec = [...(this.pod.spec?.initContainers ?? []), ...(this.pod.spec?.containers ?? [])].find(
          (c) => c.name === rec.name,
        );
        const preStop = spec?.lifecycle?.preStop;
        if (preStop && spec) {
          const result = await runHook(
            preStop,
            this.hookTarget(spec, rec),
            Math.max(0, deadline - this.deps.clock.now()),
          );
          if (!result.ok)
            this.deps.event(
              this.pod,
              "Warning",
              "FailedPreStopHook",
              `PreStopHook failed: ${result.message}`,
            );
        }
        this.deps.event(this.pod, "Normal", "Killing", `Stopping container ${rec.name}`);
        await this.killAttempt(rec, Math.max(0, deadline - this.deps.clock.now()));
      }),
    );
    await this.cleanup();
    this.stopped = true;
    // The control plane may be away (restarting); the pod object must still go once it is back.
    while (finalize && !this.detached) {
      try {
        await this.deps.finalizeDeletion(this.pod);
        break;
      } catch (err) {
        warn("finalize failed; retrying", this.uid, String(err));
        await this.deps.clock.sleep(2_000);
      }
    }
  }

  /** Removes every container attempt, rootfs, volume and the sandbox of this pod. */
  private async cleanup(): Promise<void> {
    for (const id of await this.attemptIds())
      await this.removeAttempt(id).catch((err) => warn("remove failed", id, String(err)));
    await this.deps.cgroups.removePod(this.uid).catch((err) => warn("remove pod cgroup failed", String(err)));
    await releaseVolumes(this.podDir);
    await this.deps.security.userNamespaces.release(this.uid);
    await this.deps.network.teardownSandbox(this.uid);
    await rm(this.podDir, { recursive: true, force: true });
  }

  private async attemptIds(): Promise<string[]> {
    const entries = await readdir(this.deps.runtime.root).catch(() => [] as string[]);
    return entries.filter((e) => parseContainerId(e)?.podUID === this.uid);
  }

  /** Takes over containers a previous agent started: the newest attempt of each, if it still runs. */
  private async adopt(): Promise<void> {
    const ids = await this.attemptIds();
    for (const rec of this.records.values()) {
      const mine = ids.map(parseContainerId).filter((p) => p?.name === rec.name) as { attempt: number }[];
      if (mine.length === 0) continue;
      const attempt = Math.max(...mine.map((p) => p.attempt));
      const id = containerId(this.uid, rec.name, attempt);
      const state = await this.deps.runtime.state(id);
      if (!state) continue;
      rec.id = id;
      rec.attempt = attempt;
      rec.restartCount = attempt;
      rec.logPath = join(this.podDir, "logs", rec.name, `${attempt}.log`);
      rec.running = state.status !== "stopped";
      rec.startedAtMs = this.deps.clock.now();
      rec.startedAt = iso(rec.startedAtMs);
      rec.waiting = undefined;
      rec.started = true;
      const spec = (this.pod.spec?.containers ?? []).find((c) => c.name === rec.name);
      rec.ready = rec.running && !spec?.readinessProbe;
      if (!rec.running) {
        rec.running = true;
        await this.refresh(rec);
      }
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}
