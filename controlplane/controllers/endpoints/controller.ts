/**
 * The endpoints controller: for every Service with a selector, one Endpoints object of the same
 * name listing the addresses of its ready pods and, apart, the not-ready ones, with the ports each
 * pod serves. One `sync(namespace/name)` reads the Service and its pods from the caches, computes
 * the subsets (subsets.ts) and writes only when they differ from the stored Endpoints. It removes
 * the Endpoints of deleted Services and never touches those of Services without a selector (their
 * owners write them by hand). It never reads or writes pods.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { Endpoints, Pod, Service } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import { type DeepReadonly, type EventHandler, type Lister, splitKey } from "../../client/index.js";
import { NamespaceIndex, ServiceSelectorIndex, selectorMatches } from "./service-index.js";
import { endpointSubsets } from "./subsets.js";

const trace = tracer("endpoints-controller");

export const servicesResource = resourceForKind("v1", "Service")!;
export const endpointsResource = resourceForKind("v1", "Endpoints")!;

export interface EndpointsControllerOptions {
  services: Lister<Service>;
  pods: Lister<Pod>;
  endpoints: Lister<Endpoints>;
  client: ControllerClient;
  recorder: EventRecorder;
  queue: { add(key: string): void };
}

type ReadonlyPod = DeepReadonly<Pod>;

export class EndpointsController {
  private readonly opts: EndpointsControllerOptions;
  private readonly selectors = new ServiceSelectorIndex();
  private readonly podsByNamespace = new NamespaceIndex();

  constructor(opts: EndpointsControllerOptions) {
    this.opts = opts;
  }

  readonly serviceHandler: EventHandler<Service> = {
    onAdd: (svc) => this.serviceChanged(svc),
    onUpdate: (_old, svc) => this.serviceChanged(svc),
    onDelete: (svc) => {
      this.selectors.remove(svc);
      this.opts.queue.add(objectKey(svc));
    },
  };

  /** A pod change wakes only the Services that selected it before or select it now. */
  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => {
      this.podsByNamespace.add(pod);
      this.enqueueFor(pod.metadata.namespace ?? "", pod.metadata.labels);
    },
    onUpdate: (old, pod) => {
      if (!endpointFieldsChanged(old, pod)) return;
      this.enqueueFor(pod.metadata.namespace ?? "", old.metadata.labels, pod.metadata.labels);
    },
    onDelete: (pod) => {
      this.podsByNamespace.remove(pod);
      this.enqueueFor(pod.metadata.namespace ?? "", pod.metadata.labels);
    },
  };

  /** Someone deleting an Endpoints we keep gets it back; a leftover one of a gone Service goes. */
  readonly endpointsHandler: EventHandler<Endpoints> = {
    onDelete: (ep) => this.opts.queue.add(objectKey(ep)),
  };

  /** Queues every cached Endpoints whose Service is gone. Call once both caches have synced. */
  checkLeftovers(): void {
    for (const ep of this.opts.endpoints.list()) {
      const key = objectKey(ep);
      if (!this.opts.services.get(key)) this.opts.queue.add(key);
    }
  }

  /** Brings the Endpoints `key` (namespace/name, the Service's) in line with the Service and its pods. */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const service = this.opts.services.get(key);
    if (!service) {
      // The server has the last word: a Service and its Endpoints written a moment ago (the control
      // plane's own `kubernetes`, at start) reach two caches apart, and the Endpoints may come
      // first. Deleting them then left the Service with no endpoint until its owner wrote again.
      if (!(await this.serviceStored(namespace, name))) await this.deleteEndpoints(namespace, name);
      return;
    }
    const selector = service.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) return;

    const pods: ReadonlyPod[] = [];
    for (const podKey of this.podsByNamespace.keys(namespace)) {
      const pod = this.opts.pods.get(podKey);
      if (pod && selectorMatches(selector, pod.metadata.labels)) pods.push(pod);
    }
    const subsets = endpointSubsets(service, pods);
    const labels = { ...(service.metadata.labels ?? {}) };
    const current = this.opts.endpoints.get(key);
    if (current && sameContent(current, subsets, labels)) return;

    const desired: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace },
      subsets,
    };
    if (Object.keys(labels).length > 0) desired.metadata!.labels = labels;
    try {
      if (current) {
        desired.metadata!.resourceVersion = current.metadata.resourceVersion!;
        await this.opts.client.update(endpointsResource, desired as Endpoints & { metadata: object });
        trace("updated", key, countAddresses(desired));
      } else {
        await this.opts.client.create(
          endpointsResource,
          namespace,
          desired as Endpoints & { metadata: object },
        );
        trace("created", key, countAddresses(desired));
      }
    } catch (err) {
      // A Conflict or AlreadyExists means the cache lags: the retry reads the newer object.
      if (!isApiError(err, "Conflict") && !isApiError(err, "AlreadyExists")) {
        this.opts.recorder.event(
          service,
          "Warning",
          "FailedToUpdateEndpoint",
          `Failed to update endpoint ${key}: ${(err as Error).message}`,
        );
      }
      throw err;
    }
  }

  private serviceChanged(svc: DeepReadonly<Service>): void {
    this.selectors.set(svc, svc.spec?.selector);
    this.opts.queue.add(objectKey(svc));
  }

  private enqueueFor(namespace: string, ...labelSets: DeepReadonly<Pod>["metadata"]["labels"][]): void {
    for (const key of this.selectors.matching(namespace, ...labelSets)) this.opts.queue.add(key);
  }

  private async serviceStored(namespace: string, name: string): Promise<boolean> {
    try {
      await this.opts.client.get(servicesResource, namespace, name);
      return true;
    } catch (err) {
      if (isApiError(err, "NotFound")) return false;
      throw err;
    }
  }

  private async deleteEndpoints(namespace: string, name: string): Promise<void> {
    try {
      await this.opts.client.delete(endpointsResource, namespace, name);
      trace("deleted", `${namespace}/${name}`);
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }
}

/**
 * Whether a pod update can change any Endpoints: its labels (which Services select it), IP, node,
 * hostname and subdomain, * phase, readiness, deletion or ports. Resyncs and unrelated status changes wake nothing.
 */
export function endpointFieldsChanged(old: ReadonlyPod, pod: ReadonlyPod): boolean {
  const view = (p: ReadonlyPod) =>
    JSON.stringify([
      p.metadata.labels,
      p.metadata.deletionTimestamp,
      p.spec?.nodeName,
      p.spec?.hostname,
      p.spec?.subdomain,
      p.spec?.containers?.map((c) => c.ports),
      p.status?.podIP,
      p.status?.phase,
      p.status?.conditions?.find((c) => c.type === "Ready")?.status,
    ]);
  return old !== pod && view(old) !== view(pod);
}

function sameContent(
  current: DeepReadonly<Endpoints>,
  subsets: Endpoints["subsets"],
  labels: Record<string, string>,
): boolean {
  return (
    canonical(current.subsets ?? []) === canonical(subsets) &&
    canonical(current.metadata?.labels ?? {}) === canonical(labels)
  );
}

/** JSON with object keys sorted: the stored object's key order is the codec's, not ours. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function countAddresses(ep: Endpoints): string {
  let ready = 0;
  let notReady = 0;
  for (const s of ep.subsets ?? []) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  return `${ready} ready, ${notReady} not ready`;
}
