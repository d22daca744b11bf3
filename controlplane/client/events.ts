/**
 * How controllers tell users what they did: Kubernetes Events (`kctl describe` shows them). The
 * integrator implements `EventRecorder` over the registry (creating or counting up `Event` objects,
 * with `source.component` set to the controller's name); controllers only call `event`.
 */
import type { ObjectMeta } from "../../proto/gen/api.js";

export type EventType = "Normal" | "Warning";

/** The object an event is about; cached (read-only) objects qualify as they are. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: Pick<ObjectMeta, "name" | "namespace" | "uid" | "resourceVersion">;
}

export interface EventRecorder {
  /**
   * Records that `reason` happened to `obj` (e.g. `ScalingReplicaSet`, "Scaled up replica set web-5d8
   * to 3 from 1"). Fire and forget, like client-go's recorder: it never throws and never makes the
   * caller wait; delivery failures are the recorder's to log. `reason` is UpperCamelCase and stable.
   */
  event(obj: EventSubject, type: EventType, reason: string, message: string): void;
}
