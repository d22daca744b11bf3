/**
 * The EndpointSlice controller: for every Service with a selector, EndpointSlices
 * (discovery.k8s.io/v1) listing its pods with their ready/serving/terminating conditions, node,
 * hostname and ports, at most 100 endpoints per slice, labelled `kubernetes.io/service-name` and
 * managed-by `endpointslice-controller.k8s.io`, owned by the Service (the garbage collector removes
 * them with it). One `sync(namespace/name)` reads the Service, its pods and the slices it owns from
 * the caches, plans (plan.ts) and writes only what differs: creates first, then updates, then
 * deletes, so a reader never sees an endpoint vanish and come back. It never writes Pods or
 * Services, and never touches slices another manager keeps.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { EndpointSlice, Pod, Service } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import { type DeepReadonly, type EventHandler, type Lister, splitKey } from "../../client/index.js";
import { byOwnerUidIndex } from "../../client/indexers.js";
import { endpointFieldsChanged } from "../endpoints/controller.js";
import { NamespaceIndex, ServiceSelectorIndex, selectorMatches } from "../endpoints/service-index.js";
import { endpointGroups } from "./desired.js";
import { controllerName, managedByLabel, planSlices, serviceNameLabel } from "./plan.js";

const trace = tracer("endpointslice-controller");

export const endpointSlicesResource = resourceForKind("discovery.k8s.io/v1", "EndpointSlice")!;
export const servicesResource = resourceForKind("v1", "Service")!;

export interface EndpointSliceControllerOptions {
  services: Lister<Service>;
  pods: Lister<Pod>;
  slices: Lister<EndpointSlice>;
  client: ControllerClient;
  recorder: EventRecorder;
  queue: { add(key: string): void };
}

type ReadonlyPod = DeepReadonly<Pod>;

export class EndpointSliceController {
  private readonly selectors = new ServiceSelectorIndex();
  private readonly podsByNamespace = new NamespaceIndex();

  constructor(private readonly opts: EndpointSliceControllerOptions) {}

  readonly serviceHandler: EventHandler<Service> = {
    onAdd: (svc) => this.serviceChanged(svc),
    onUpdate: (_old, svc) => this.serviceChanged(svc),
    onDelete: (svc) => this.selectors.remove(svc),
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

  /**
   * Someone changing or deleting a slice we keep wakes its Service, which puts it right. So does a
   * slice appearing: one we created may reach the cache only after a later sync planned without it
   * (a placeholder made before the pods came), and only a sync that sees it can remove it.
   */
  readonly sliceHandler: EventHandler<EndpointSlice> = {
    onAdd: (slice) => this.sliceChanged(slice),
    onUpdate: (_old, slice) => this.sliceChanged(slice),
    onDelete: (slice) => this.sliceChanged(slice),
  };

  /** Brings the slices of Service `key` in line with the Service and its pods. */
  async sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const service = this.opts.services.get(key);
    // A deleted Service's slices go with it through their owner reference.
    if (!service) return;
    const owned = this.opts.slices
      .byIndex(byOwnerUidIndex, service.metadata.uid ?? "")
      .filter((s) => s.metadata.labels?.[managedByLabel] === controllerName);
    const selector = service.spec?.selector;
    if (!selector || Object.keys(selector).length === 0 || service.spec?.type === "ExternalName") {
      for (const s of owned) await this.deleteSlice(namespace, s.metadata.name ?? "");
      return;
    }

    const pods: ReadonlyPod[] = [];
    for (const podKey of this.podsByNamespace.keys(namespace)) {
      const pod = this.opts.pods.get(podKey);
      if (pod && selectorMatches(selector, pod.metadata.labels)) pods.push(pod);
    }
    const plan = planSlices(service, endpointGroups(service, pods), owned);
    try {
      for (const slice of plan.create) {
        await this.opts.client.create(
          endpointSlicesResource,
          namespace,
          slice as EndpointSlice & { metadata: object },
        );
        trace("created", `${namespace}/${slice.metadata!.name}`, slice.endpoints?.length ?? 0);
      }
      for (const slice of plan.update) {
        await this.opts.client.update(endpointSlicesResource, slice as EndpointSlice & { metadata: object });
        trace("updated", `${namespace}/${slice.metadata!.name}`, slice.endpoints?.length ?? 0);
      }
    } catch (err) {
      // A Conflict or AlreadyExists means the cache lags: the retry reads the newer objects.
      if (!isApiError(err, "Conflict") && !isApiError(err, "AlreadyExists")) {
        this.opts.recorder.event(
          service,
          "Warning",
          "FailedToUpdateEndpointSlices",
          `Error updating Endpoint Slices for Service ${key}: ${(err as Error).message}`,
        );
      }
      throw err;
    }
    for (const name of plan.delete) await this.deleteSlice(namespace, name);
  }

  private serviceChanged(svc: DeepReadonly<Service>): void {
    this.selectors.set(svc, svc.spec?.selector);
    this.opts.queue.add(objectKey(svc));
  }

  private sliceChanged(slice: DeepReadonly<EndpointSlice>): void {
    const labels = slice.metadata.labels ?? {};
    const service = labels[serviceNameLabel];
    if (labels[managedByLabel] !== controllerName || !service) return;
    const key = `${slice.metadata.namespace ?? ""}/${service}`;
    if (this.opts.services.get(key)) this.opts.queue.add(key);
  }

  private enqueueFor(namespace: string, ...labelSets: DeepReadonly<Pod>["metadata"]["labels"][]): void {
    for (const key of this.selectors.matching(namespace, ...labelSets)) this.opts.queue.add(key);
  }

  private async deleteSlice(namespace: string, name: string): Promise<void> {
    try {
      await this.opts.client.delete(endpointSlicesResource, namespace, name);
      trace("deleted", `${namespace}/${name}`);
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }
}
