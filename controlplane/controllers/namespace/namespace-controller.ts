/**
 * The namespace controller: empties a Terminating namespace, then lets the registry delete it.
 * One `sync(name)` takes a namespace that carries a deletionTimestamp and the `kubernetes`
 * finalizer, lists every namespaced resource in it from the server (never from a cache: a lagging
 * cache must not let the namespace go while objects remain), deletes what is not yet being
 * deleted (background propagation; pods bound to nodes get their graceful termination), and, once
 * a list finds nothing left, removes the finalizer. While objects remain the key comes back after
 * a doubling delay, and at once when an object in the namespace is deleted.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { namespaceFinalizer } from "../../../foundation/api/finalizers.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { type ResourceInfo, resourceForKind } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { Namespace } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import type { DeepReadonly, EventHandler, Lister, WorkQueue } from "../../client/index.js";

const trace = tracer("namespace-controller");

export const namespacesResource = resourceForKind("v1", "Namespace")!;

/** Live reads of a namespace's content; the Registry satisfies it as it is. */
export interface NamespaceContentLister {
  list(info: ResourceInfo, opts: { namespace: string }): Promise<{ items: KubeObject[] }>;
}

export interface NamespaceControllerOptions {
  namespaces: Lister<Namespace>;
  /** Namespaced resources whose objects must go before their namespace. */
  contentResources: readonly ResourceInfo[];
  content: NamespaceContentLister;
  client: ControllerClient;
  recorder: EventRecorder;
  queue: Pick<WorkQueue, "add" | "addAfter">;
  /** First re-check delay while content remains; doubles per check. Default 1 s. */
  requeueBaseMs?: number;
  /** Ceiling of that delay. Default 30 s. */
  requeueMaxMs?: number;
}

export class NamespaceContentDeletionError extends Error {
  constructor(
    readonly namespace: string,
    readonly failures: readonly string[],
  ) {
    super(`namespace ${namespace}: could not delete ${failures.length} object(s): ${failures.join("; ")}`);
    this.name = "NamespaceContentDeletionError";
  }
}

interface ContentState {
  /** `pods: 2, configmaps: 1`: what is still there, by resource. */
  remaining: Map<string, number>;
  failures: string[];
}

export class NamespaceController {
  private readonly opts: NamespaceControllerOptions;
  private readonly baseMs: number;
  private readonly maxMs: number;
  /** Consecutive syncs that found content left, per namespace: the requeue delay's exponent. */
  private readonly checks = new Map<string, number>();

  constructor(opts: NamespaceControllerOptions) {
    this.opts = opts;
    this.baseMs = opts.requeueBaseMs ?? 1000;
    this.maxMs = opts.requeueMaxMs ?? 30_000;
  }

  readonly namespaceHandler: EventHandler<Namespace> = {
    onAdd: (ns) => this.enqueueIfTerminating(ns),
    onUpdate: (_old, ns) => this.enqueueIfTerminating(ns),
    onDelete: (ns) => this.checks.delete(ns.metadata.name ?? ""),
  };

  /** For every content resource's informer: a deletion may have been the last thing a namespace waited for. */
  readonly contentHandler: EventHandler<KubeObject> = {
    onDelete: (obj) => {
      const ns = obj.metadata.namespace && this.opts.namespaces.get(obj.metadata.namespace);
      if (ns) this.enqueueIfTerminating(ns);
    },
  };

  /** Reconciles the namespace `name`. Throws (to be retried) when a delete failed. */
  async sync(name: string): Promise<void> {
    const ns = this.opts.namespaces.get(name);
    if (!ns || !isTerminating(ns) || !(ns.metadata.finalizers ?? []).includes(namespaceFinalizer)) {
      this.checks.delete(name);
      return;
    }
    const state = await this.deleteContent(name);
    if (state.failures.length > 0) {
      const err = new NamespaceContentDeletionError(name, state.failures);
      this.opts.recorder.event(ns, "Warning", "NamespaceDeletionContentFailure", err.message);
      throw err;
    }
    if (state.remaining.size > 0) {
      const n = this.checks.get(name) ?? 0;
      this.checks.set(name, n + 1);
      const delay = Math.min(this.baseMs * 2 ** n, this.maxMs);
      trace(`${name}: waiting for ${describe(state.remaining)}; checking again in ${delay} ms`);
      this.opts.queue.addAfter(name, delay);
      return;
    }
    this.checks.delete(name);
    const rest = (ns.metadata.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
    trace(`${name}: empty, removing the ${namespaceFinalizer} finalizer`);
    try {
      await this.opts.client.patch(namespacesResource, "", name, {
        metadata: { finalizers: rest.length > 0 ? rest : null, resourceVersion: ns.metadata.resourceVersion },
      });
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }

  private async deleteContent(namespace: string): Promise<ContentState> {
    const state: ContentState = { remaining: new Map(), failures: [] };
    for (const info of this.opts.contentResources) {
      const { items } = await this.opts.content.list(info, { namespace });
      if (items.length > 0) state.remaining.set(info.plural, items.length);
      for (const obj of items) {
        if (obj.metadata.deletionTimestamp) continue;
        try {
          await this.opts.client.delete(info, namespace, obj.metadata.name ?? "", {
            propagationPolicy: "Background",
            ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
          });
        } catch (err) {
          // Gone or replaced already: the next list tells.
          if (isApiError(err, "NotFound") || isApiError(err, "Conflict")) continue;
          state.failures.push(`${info.plural}/${obj.metadata.name}: ${(err as Error).message}`);
        }
      }
    }
    return state;
  }

  private enqueueIfTerminating(ns: DeepReadonly<Namespace>): void {
    if (isTerminating(ns)) this.opts.queue.add(ns.metadata.name ?? "");
  }
}

function isTerminating(ns: DeepReadonly<Namespace>): boolean {
  return ns.metadata.deletionTimestamp !== undefined;
}

function describe(remaining: Map<string, number>): string {
  return [...remaining].map(([plural, n]) => `${plural}: ${n}`).join(", ");
}
