/**
 * What a pod lifecycle hook is: one feature of running a pod (its sandbox, volumes, rootfs, probes,
 * ...) owning its setup and its teardown, at the stages it needs. The worker calls the stages; the
 * hooks never call each other, they share what they made through `PodRun` and `AttemptSetup`.
 *
 * Stages, and who calls them when:
 * - `prerun(run)`: at the start of every sync, until the pod stops. Makes the pod-wide things
 *   (sandbox, volumes) and must be cheap once they exist. May end the pod (`{ fail }`).
 * - `prestart(run, a)`: before an attempt's container is created; adds to `a` what the container
 *   needs (rootfs, mounts, log path, bundle). If one throws, it and the hooks that ran before it get
 *   `poststop` in reverse order and the attempt waits with the error's reason.
 * - `poststart(run, a)`: the container started. May ask for it to be killed (`{ kill }`).
 * - `restore(run, a)`: an attempt a previous agent started was adopted (instead of prestart and
 *   poststart).
 * - `running(run, a)`: every sync while a regular container runs. May ask for it to be killed.
 * - `exited(run, a)`: the attempt's container has just been seen stopped; `a.rec.exit` is set.
 * - `prestop(run, a, deadline)`: the pod is being stopped; before the container gets SIGTERM.
 * - `poststop(run, ref)`: the attempt's container was deleted (a restart replaced it, or the pod
 *   stops). Runs in reverse hook order, for attempts of this or of a previous agent alike, and
 *   after a failed prestart: it must be idempotent and cope with a part never made.
 * - `postrun(run)`: every attempt is gone; removes the pod-wide things. Runs in reverse order.
 */
import type { Container, Pod } from "../../proto/gen/api.js";
import type { Sandbox } from "../network/index.js";
import type { ResolvedImage } from "../runtime/images/index.js";
import type { BindMount, ContainerSecurity } from "../runtime/oci/container-config.js";
import type { ContainerRecord } from "./container-record.js";
import type { HookTarget } from "./lifecycle-hooks.js";
import type { EventType, PodWorkerDeps } from "./pod-worker-deps.js";
import type { VolumePaths } from "./volumes.js";

/** One pod on this node, as its hooks see it. */
export interface PodRun {
  /** The newest version of the pod (never mutate it). */
  readonly pod: Pod;
  readonly uid: string;
  /** `<stateDir>/pods/<uid>`: removed after `postrun`. */
  readonly podDir: string;
  /** When the pod started on this node (`status.startTime`). */
  readonly startTime: string;
  readonly deps: PodWorkerDeps;
  /** Set by the sandbox hook once the pod's network namespace exists. */
  sandbox?: Sandbox;
  /** Host path of each volume by name, set by the volumes hook. */
  volumePaths?: VolumePaths;
  /** The image each container runs, for the status (by container name). */
  readonly images: Map<string, { image: string; imageID: string }>;
  event(type: EventType, reason: string, message: string): void;
  /** Where handlers and probes of attempt `id` run. */
  target(spec: Container, id: string): HookTarget;
}

/** One attempt's runtime container: `<pod uid>_<name>_<attempt>`. */
export interface AttemptRef {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
}

/** An attempt of a container the pod spec still has. */
export interface ContainerAttempt extends AttemptRef {
  readonly spec: Container;
  readonly rec: ContainerRecord;
}

/** An attempt being prepared: each `prestart` adds its part, the bundle hook puts them together. */
export interface AttemptSetup extends ContainerAttempt {
  mounts: BindMount[];
  image?: ResolvedImage;
  rootfs?: string;
  security?: ContainerSecurity;
  cgroupsPath?: string;
  logPath?: string;
  bundle?: string;
}

export type PodVerdict = { fail: { reason: string; message: string } };
/** Kill the attempt (the restart policy takes over); `kill` is the Killing event's message. */
export type AttemptVerdict = { kill: string };

export interface PodHook {
  readonly name: string;
  prerun?(run: PodRun): Promise<PodVerdict | undefined>;
  prestart?(run: PodRun, a: AttemptSetup): Promise<void>;
  poststart?(run: PodRun, a: ContainerAttempt): Promise<AttemptVerdict | undefined>;
  restore?(run: PodRun, a: ContainerAttempt): Promise<void>;
  running?(run: PodRun, a: ContainerAttempt): Promise<AttemptVerdict | undefined>;
  exited?(run: PodRun, a: ContainerAttempt): Promise<void>;
  prestop?(run: PodRun, a: ContainerAttempt, deadline: number): Promise<void>;
  poststop?(run: PodRun, ref: AttemptRef): Promise<void>;
  postrun?(run: PodRun): Promise<void>;
}

/**
 * A hook's failure with the reason the status and the event give: a container waits with it
 * (`CreateContainerConfigError`, `ErrImagePull`, ...) or the pod reports it (`FailedMount`).
 */
export class HookError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HookError";
  }
}
