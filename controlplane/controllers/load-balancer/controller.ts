/**
 * The LoadBalancer address controller, this cluster's stand-in for a cloud's service controller
 * (MetalLB's controller is the model): every `type: LoadBalancer` Service without a
 * `loadBalancerClass` gets one address from the pool (pool.ts) in `status.loadBalancer.ingress`.
 * `spec.loadBalancerIP`, when set, is the address asked for. A Service with a class belongs to
 * another controller and is left alone, as upstream; a Service that stops being a LoadBalancer has
 * its status cleared, which frees its address.
 *
 * Who holds which address is read from the Services' statuses (the cache) plus the addresses this
 * controller wrote since, which the cache may not show yet; the controller runs with one worker so
 * two syncs never pick the same free address. When two Services claim one address (data written
 * around the controller), the older keeps it.
 *
 * The announcing (ARP) is the node agents' (node-agent/load-balancer/); this never touches a host.
 */

import {
  type Pool,
  parsePool,
  poolConfigMap,
  poolKey,
  poolNamespace,
} from "../../../foundation/api/load-balancer-pool.js";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { ConfigMap, Service } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import type { DeepReadonly, EventHandler, Lister } from "../../client/index.js";

const trace = tracer("load-balancer-controller");

export const servicesResource = resourceForKind("v1", "Service")!;
export const configMapsResource = resourceForKind("v1", "ConfigMap")!;

export interface LoadBalancerControllerOptions {
  services: Lister<Service>;
  configMaps: Lister<ConfigMap>;
  client: ControllerClient;
  recorder: EventRecorder;
  queue: { add(key: string): void };
}

/** Whether this controller assigns `svc` an address: a LoadBalancer of no other controller's class. */
export function isOurLoadBalancer(svc: DeepReadonly<Service>): boolean {
  return svc.spec?.type === "LoadBalancer" && !svc.spec.loadBalancerClass;
}

function ingressIP(svc: DeepReadonly<Service>): string | undefined {
  return svc.status?.loadBalancer?.ingress?.[0]?.ip || undefined;
}

export class LoadBalancerController {
  /** Addresses written by this controller, by Service key, ahead of the cache. */
  private readonly written = new Map<string, string>();

  constructor(private readonly opts: LoadBalancerControllerOptions) {}

  readonly serviceHandler: EventHandler<Service> = {
    onAdd: (svc) => this.opts.queue.add(objectKey(svc)),
    onUpdate: (old, svc) => {
      // A released address may be what a pending Service waits for.
      if (ingressIP(old) && !ingressIP(svc)) this.enqueuePending();
      this.opts.queue.add(objectKey(svc));
    },
    onDelete: (svc) => {
      this.written.delete(objectKey(svc));
      if (ingressIP(svc)) this.enqueuePending();
    },
  };

  /** A pool change may move or free any address. */
  readonly configMapHandler: EventHandler<ConfigMap> = {
    onAdd: (cm) => this.poolChanged(cm),
    onUpdate: (_old, cm) => this.poolChanged(cm),
    onDelete: (cm) => this.poolChanged(cm),
  };

  async sync(key: string): Promise<void> {
    const svc = this.opts.services.get(key);
    if (!svc) {
      this.written.delete(key);
      return;
    }
    const current = ingressIP(svc);
    if (!isOurLoadBalancer(svc)) {
      // Another class's status is its controller's; a former LoadBalancer's address is released.
      if (svc.spec?.type !== "LoadBalancer" && svc.status?.loadBalancer?.ingress?.length) {
        await this.writeStatus(svc, undefined);
      }
      this.written.delete(key);
      return;
    }
    let pool: Pool;
    try {
      pool = this.pool();
    } catch (err) {
      this.opts.recorder.event(svc, "Warning", "AllocationFailed", (err as Error).message);
      if (current) await this.writeStatus(svc, undefined);
      return;
    }
    const taken = this.takenBy(key, svc);
    const wanted = svc.spec?.loadBalancerIP || undefined;
    if (current && pool.has(current) && !taken.has(current) && (!wanted || wanted === current)) return;

    let ip: string | undefined;
    if (wanted) {
      if (!pool.has(wanted)) {
        this.fail(svc, `spec.loadBalancerIP ${wanted} is not in the pool (${describePool(pool)})`);
      } else if (taken.has(wanted)) {
        this.fail(svc, `spec.loadBalancerIP ${wanted} is already used by Service ${taken.get(wanted)}`);
      } else ip = wanted;
    } else {
      ip = pool.addresses.find((a) => !taken.has(a));
      if (!ip) this.fail(svc, `no address left in the pool (${describePool(pool)})`);
    }
    if (ip === current) return;
    await this.writeStatus(svc, ip);
    if (ip) this.opts.recorder.event(svc, "Normal", "IPAllocated", `Assigned IP ["${ip}"]`);
  }

  /** The pool as configured now; empty when the ConfigMap or its key is missing. Throws PoolError. */
  private pool(): Pool {
    const cm = this.opts.configMaps.get(`${poolNamespace}/${poolConfigMap}`);
    return parsePool(cm?.data?.[poolKey] ?? "");
  }

  /**
   * Addresses held by Services other than `key`, to the holder's key. Of two Services claiming one
   * address, the older (then the first by key) holds it.
   */
  private takenBy(key: string, svc: DeepReadonly<Service>): Map<string, string> {
    const taken = new Map<string, string>();
    const mine = ingressIP(svc);
    const rank = (s: DeepReadonly<Service>) => `${s.metadata.creationTimestamp ?? ""}\0${objectKey(s)}`;
    for (const other of this.opts.services.list()) {
      const otherKey = objectKey(other);
      if (otherKey === key || !isOurLoadBalancer(other)) continue;
      const ip = this.written.get(otherKey) ?? ingressIP(other);
      if (!ip) continue;
      if (ip === mine && rank(svc) < rank(other)) continue;
      taken.set(ip, otherKey);
    }
    return taken;
  }

  private fail(svc: DeepReadonly<Service>, message: string): void {
    trace("cannot allocate", objectKey(svc), message);
    this.opts.recorder.event(
      svc,
      "Warning",
      "AllocationFailed",
      `Failed to allocate IP for ${objectKey(svc)}: ${message}`,
    );
  }

  private async writeStatus(svc: DeepReadonly<Service>, ip: string | undefined): Promise<void> {
    const next = structuredClone(svc) as Service & { metadata: object };
    next.status = { ...next.status, loadBalancer: ip ? { ingress: [{ ip }] } : {} };
    await this.opts.client.updateStatus(servicesResource, next);
    const key = objectKey(svc);
    if (ip) this.written.set(key, ip);
    else this.written.delete(key);
    trace("status", key, ip ?? "none");
  }

  private poolChanged(cm: DeepReadonly<ConfigMap>): void {
    if (cm.metadata.namespace !== poolNamespace || cm.metadata.name !== poolConfigMap) return;
    for (const svc of this.opts.services.list())
      if (isOurLoadBalancer(svc)) this.opts.queue.add(objectKey(svc));
  }

  private enqueuePending(): void {
    for (const svc of this.opts.services.list()) {
      if (isOurLoadBalancer(svc) && !ingressIP(svc)) this.opts.queue.add(objectKey(svc));
    }
  }
}

function describePool(pool: Pool): string {
  const n = pool.addresses.length;
  if (n === 0) return `none configured: set data.${poolKey} of ConfigMap ${poolNamespace}/${poolConfigMap}`;
  return `${pool.addresses[0]}..${pool.addresses[n - 1]}, ${n} addresses`;
}
