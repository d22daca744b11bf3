/**
 * The writes controllers make, and the one live read they need, as a small interface the
 * integrator implements over the registry (in-process) or the HTTP apiserver. Controllers read
 * through informer caches; this client is for changing state. Every method returns the stored
 * object as the server wrote it, or throws an `ApiError` (foundation/api/errors.ts) with a stable
 * reason: `NotFound`, `AlreadyExists`, `Conflict` (a stale resourceVersion or uid precondition),
 * `Invalid`, `Forbidden`, ... Controllers branch on those reasons, so the implementation must not
 * wrap them in other error types.
 */

import type { ApiObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";

export type { ApiObject };

/**
 * An RFC 7386 JSON merge patch. A `metadata.resourceVersion` in it is a precondition (Conflict when
 * the stored object has moved on), exactly as for an update.
 */
export type MergePatch = Record<string, unknown>;

export interface ControllerDeleteOptions {
  /** Precondition: delete only if the stored object still has this uid (Conflict otherwise). */
  uid?: string;
  /** Default: the server's default for the kind (Background). */
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  /** Pods: seconds their node gets to stop them; 0 removes the pod at once (forced eviction). */
  gracePeriodSeconds?: number;
}

export interface ControllerClient {
  /**
   * Reads one object from the server, not from a cache. Controllers use it only where a decision
   * must not rest on a stale cache (re-checking an owner before adopting). Throws NotFound.
   */
  get<T extends ApiObject>(info: ResourceInfo, namespace: string, name: string): Promise<T>;
  /**
   * Creates `obj` in `namespace`; `metadata.generateName` is honoured when `metadata.name` is empty.
   * Throws AlreadyExists when the name is taken.
   */
  create<T extends ApiObject>(info: ResourceInfo, namespace: string, obj: T): Promise<T>;
  /**
   * Replaces the object (PUT) except its status. `metadata.resourceVersion` is a precondition: the
   * controllers always send the version they read, and expect Conflict when it is stale.
   */
  update<T extends ApiObject>(info: ResourceInfo, obj: T): Promise<T>;
  /** Replaces only the status (PUT .../status); resourceVersion is a precondition as for `update`. */
  updateStatus<T extends ApiObject>(info: ResourceInfo, obj: T): Promise<T>;
  /** Applies a JSON merge patch to the main resource (not status). */
  patch<T extends ApiObject>(
    info: ResourceInfo,
    namespace: string,
    name: string,
    patch: MergePatch,
  ): Promise<T>;
  /**
   * Deletes (or, for bound pods and objects with finalizers, starts deleting) the object. Resolves
   * once the server accepted the request. Throws NotFound when it is already gone.
   */
  delete(info: ResourceInfo, namespace: string, name: string, opts?: ControllerDeleteOptions): Promise<void>;
}
