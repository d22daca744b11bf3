/**
 * One container attempt's life through the runtime: make it (env, rootfs, bundle, create+start, the
 * postStart handler), notice that it exited, stop it gracefully (preStop, the image's stop signal,
 * SIGKILL at the deadline) and remove it (runtime container and rootfs). Decisions — whether and
 * when to start, restart or stop — are the pod worker's; this module only carries them out and
 * records the outcome in the container's record, with the events the kubelet would emit.
 */
import { join } from "node:path";
import type { EventRecorder, EventSubject } from "../../controlplane/controllers/events.js";
import type { Clock } from "../../controlplane/util/clock.js";
import type { Container, Pod } from "../../proto/gen/api.js";
import type { ImageStore } from "../runtime/images/index.js";
import { containerCgroupPath, type OciRuntimeDriver, writeBundle } from "../runtime/shim/index.js";
import { attemptId, type ContainerRecord, processStartTime, terminatedState } from "./container-record.js";
import { EnvError, resolveEnv } from "./env.js";
import type { ObjectLookup } from "./object-lookup.js";
import type { PodContext } from "./pod-hooks.js";
import type { ProbeDialer } from "./probe-dialer.js";
import { probeCheck } from "./probes.js";
import { VolumeError, volumeMounts } from "./volumes-linux.js";

export interface ContainerRunnerDeps {
  runtime: OciRuntimeDriver;
  images: ImageStore;
  lookup: ObjectLookup;
  events: EventRecorder;
  clock: Clock;
  dialer: ProbeDialer;
  cgroupParent: string;
  hostIP: string;
  pidsLimit?: number;
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function podSubject(pod: Pod): EventSubject {
  const { name, namespace, uid, resourceVersion } = pod.metadata;
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, uid, resourceVersion } };
}

export class ContainerRunner {
  constructor(private readonly d: ContainerRunnerDeps) {}

  private get now(): string {
    return rfc3339(this.d.clock.now());
  }

  /**
   * Starts the next attempt of `c` (field path `where`). Returns false, with the record waiting and
   * a Warning event, when the container cannot be made yet (missing image, env source, volume); a
   * runtime failure becomes a terminated attempt with reason `StartError`, restarted like a crash.
   */
  async start(ctx: PodContext, rec: ContainerRecord, c: Container, where: string): Promise<boolean> {
    const pod = ctx.pod;
    const subject = podSubject(pod);
    const ref = c.image ?? "";
    const image = ctx.images.get(ref);
    if (image === undefined || "reason" in image) {
      const reason = image?.reason ?? "ErrImagePull";
      const message = image?.message ?? `image "${ref}" was not resolved`;
      this.wait(rec, subject, reason, message, reason);
      return false;
    }
    let resolved: Awaited<ReturnType<typeof resolveEnv>>;
    let mounts: Awaited<ReturnType<typeof volumeMounts>>;
    try {
      resolved = await resolveEnv(pod, c, where, this.d.lookup, {
        podIP: ctx.sandbox?.ip ?? "",
        hostIP: this.d.hostIP,
      });
      mounts = await volumeMounts(c, where, ctx.volumes);
    } catch (err) {
      if (!(err instanceof EnvError || err instanceof VolumeError)) throw err;
      this.wait(rec, subject, "CreateContainerConfigError", err.message, "Failed");
      return false;
    }
    if (resolved.invalidKeys.length > 0) {
      this.d.events.event(
        subject,
        "Warning",
        "InvalidEnvironmentVariableNames",
        `Keys [${resolved.invalidKeys.join(", ")}] from the EnvFrom of ${c.name} were skipped since they are invalid environment variable names.`,
      );
    }
    const sandbox = ctx.sandbox!;
    const uid = pod.metadata.uid ?? "";
    const id = attemptId(uid, `${rec.init ? "init-" : ""}${c.name}`, rec.restarts);
    if (rec.id !== id) {
      // Keep exactly one earlier attempt (for its log): the one that just ended.
      if (rec.previousId !== undefined) await this.remove(rec.previousId);
      if (rec.id !== undefined) rec.previousId = rec.id;
      rec.id = id;
    }
    this.d.events.event(subject, "Normal", "Pulled", `Container image "${ref}" already present on machine`);
    try {
      const rootfs = await this.d.images.prepareRootfs(id, ref);
      await writeBundle(bundleDir(ctx.podDir, id), {
        rootfs: rootfs.path,
        image: image.config,
        ...(resolved.command !== undefined && { command: resolved.command }),
        ...(resolved.args !== undefined && { args: resolved.args }),
        env: resolved.env,
        ...(c.workingDir !== undefined && { workingDir: c.workingDir }),
        hostname: hostnameOf(pod),
        netnsPath: sandbox.netnsPath,
        mounts: [
          { source: sandbox.files.hosts, destination: "/etc/hosts" },
          { source: sandbox.files.resolvConf, destination: "/etc/resolv.conf" },
          { source: sandbox.files.hostname, destination: "/etc/hostname" },
          ...mounts,
        ],
        ...(c.resources !== undefined && { resources: c.resources }),
        // Per attempt, as containerd names them: the previous attempt is kept (stopped) for its log.
        cgroupsPath: containerCgroupPath(this.d.cgroupParent, uid, id),
        ...(this.d.pidsLimit !== undefined && { pidsLimit: this.d.pidsLimit }),
        annotations: {
          "io.kubernetes.pod.name": pod.metadata.name ?? "",
          "io.kubernetes.pod.namespace": pod.metadata.namespace ?? "",
          "io.kubernetes.pod.uid": uid,
          "io.kubernetes.container.name": c.name ?? "",
        },
      });
      rec.imageRef = rootfs.image.reference;
      rec.imageID = rootfs.image.imageId;
      const state = await this.d.runtime.run(id, bundleDir(ctx.podDir, id));
      this.d.events.event(subject, "Normal", "Created", `Created container ${c.name}`);
      this.d.events.event(subject, "Normal", "Started", `Started container ${c.name}`);
      rec.pid = state.pid;
      const startTime = state.pid > 0 ? await processStartTime(state.pid) : undefined;
      if (startTime !== undefined) rec.pidStartTime = startTime;
      else delete rec.pidStartTime;
      rec.state = { running: { startedAt: this.now } };
    } catch (err) {
      const message = (err as Error).message;
      this.d.events.event(subject, "Warning", "Failed", `Error: ${message}`);
      await this.d.images.releaseRootfs(id).catch(() => undefined);
      rec.state = {
        terminated: {
          exitCode: 128,
          reason: "StartError",
          message,
          startedAt: this.now,
          finishedAt: this.now,
          containerID: `${this.d.runtime.name}://${id}`,
        },
      };
      return true;
    }
    const postStart = c.lifecycle?.postStart;
    if (postStart !== undefined) {
      const outcome = await this.handler(ctx, rec, c, postStart, `${where}.lifecycle.postStart`, 30_000);
      if (!outcome.ok) {
        this.d.events.event(
          subject,
          "Warning",
          "FailedPostStartHook",
          `PostStartHook failed for container ${c.name}: ${outcome.message}`,
        );
        await this.stop(ctx, rec, c, this.d.clock.now(), false);
      }
    }
    return true;
  }

  /** True when the attempt's process still runs (no process spawned: /proc is read). */
  async alive(rec: ContainerRecord): Promise<boolean> {
    if (rec.pid === undefined || rec.pid <= 0) return false;
    const start = await processStartTime(rec.pid);
    return start !== undefined && (rec.pidStartTime === undefined || start === rec.pidStartTime);
  }

  /**
   * Checks a running attempt and records its termination when it ended. Returns true when the
   * record changed. An attempt whose process runs is left alone (adoption keeps its pid).
   */
  async observe(rec: ContainerRecord): Promise<boolean> {
    if (rec.state.running === undefined || rec.id === undefined) return false;
    if (await this.alive(rec)) return false;
    const s = await this.d.runtime.state(rec.id);
    if (s?.status === "running" && s.pid > 0) {
      // The agent restarted and its record lost the pid (or the pid was never read): adopt it.
      rec.pid = s.pid;
      const start = await processStartTime(s.pid);
      if (start !== undefined) rec.pidStartTime = start;
      return true;
    }
    rec.state = { terminated: terminatedState(rec, this.d.runtime.name, s, this.now) };
    delete rec.pid;
    delete rec.pidStartTime;
    return true;
  }

  /**
   * Stops a running attempt: the preStop handler (when `preStop`), the image's stop signal, and
   * SIGKILL at `deadline` (ms since the epoch). Returns when it is stopped and recorded.
   */
  async stop(
    ctx: PodContext,
    rec: ContainerRecord,
    c: Container,
    deadline: number,
    preStop = true,
  ): Promise<void> {
    if (rec.state.running === undefined || rec.id === undefined) return;
    const subject = podSubject(ctx.pod);
    const handler = c.lifecycle?.preStop;
    if (preStop && handler !== undefined && (await this.alive(rec))) {
      const timeout = Math.max(1000, deadline - this.d.clock.now());
      const outcome = await this.handler(ctx, rec, c, handler, "lifecycle.preStop", timeout);
      if (!outcome.ok) {
        this.d.events.event(
          subject,
          "Warning",
          "FailedPreStopHook",
          `PreStopHook failed for container ${c.name}: ${outcome.message}`,
        );
      }
    }
    const image = ctx.images.get(c.image ?? "");
    const stopSignal = (image !== undefined && !("reason" in image) && image.config.stopSignal) || "TERM";
    await this.d.runtime.kill(rec.id, stopSignal.replace(/^SIG/, ""));
    while ((await this.alive(rec)) && this.d.clock.now() < deadline) await this.d.clock.sleep(25);
    if (await this.alive(rec)) await this.d.runtime.kill(rec.id, "KILL");
    const killDeadline = this.d.clock.now() + 10_000;
    while ((await this.alive(rec)) && this.d.clock.now() < killDeadline) await this.d.clock.sleep(10);
    await this.observe(rec);
  }

  /** Deletes a runtime container and its rootfs. Idempotent. */
  async remove(id: string): Promise<void> {
    await this.d.runtime.delete(id);
    await this.d.images.releaseRootfs(id);
  }

  private async handler(
    ctx: PodContext,
    rec: ContainerRecord,
    c: Container,
    handler: NonNullable<NonNullable<Container["lifecycle"]>["preStop"]>,
    where: string,
    timeoutMs: number,
  ) {
    try {
      const check = probeCheck(
        handler,
        {
          driver: this.d.runtime,
          containerId: rec.id!,
          container: c,
          podIP: ctx.sandbox?.ip ?? "",
          dialer: this.d.dialer,
        },
        timeoutMs,
        where,
      );
      return await check();
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  }

  private wait(
    rec: ContainerRecord,
    subject: EventSubject,
    reason: string,
    message: string,
    eventReason: string,
  ) {
    const before = rec.state.waiting;
    rec.state = { waiting: { reason, message } };
    if (before?.reason !== reason || before.message !== message) {
      this.d.events.event(subject, "Warning", eventReason, message);
    }
  }
}

export function bundleDir(podDir: string, id: string): string {
  return join(podDir, "bundles", id);
}

function hostnameOf(pod: Pod): string {
  return pod.spec?.hostname ?? (pod.metadata.name ?? "").slice(0, 63).replace(/[-.]+$/, "");
}
