/**
 * The Endpoints of the Services every control plane serves (`default/kubernetes`, the apiserver;
 * `kube-system/kube-dns`, the cluster DNS) list every live control plane, as upstream's lease
 * endpoint reconciler keeps the apiserver's: each control plane holds a key `<prefix><ip>` under
 * an etcd lease of `ttlSeconds`, renewed (as a new lease) every `periodMs`, and after each renewal
 * rewrites the Endpoints from the keys present when they differ. A control plane that dies stops
 * renewing and drops out once its lease expires; one that stops deletes its key and rewrites at
 * once. Every control plane computes the list from etcd, so one that loses a write to a Conflict
 * reads again.
 */
import type { Etcd3 } from "etcd3";
import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { parseIPv4 } from "../../foundation/util/ipv4.js";
import { logWarning } from "../../foundation/util/log.js";
import type { EndpointPort, Endpoints } from "../../proto/gen/api.js";
import type { Registry } from "../registry/index.js";

const endpointsResource = resourceForKind("v1", "Endpoints")!;

/** Upstream's `/masterleases/`, per Service, in this project's etcd namespace. */
export const endpointLeasePrefix = "/kctl/endpoint-leases/";

export interface ControlPlaneEndpointsOptions {
  etcd: Etcd3;
  registry: Registry;
  /** The selector-less Service whose Endpoints this keeps. */
  service: { namespace: string; name: string };
  /** This control plane's address, as clients in pods reach it. */
  address: string;
  /** What it serves there (the same on every control plane). */
  ports: EndpointPort[];
  /** Upstream's defaults: a 15 s lease renewed every 10 s. */
  ttlSeconds?: number;
  periodMs?: number;
  prefix?: string;
  clock?: Clock;
}

export interface ControlPlaneEndpoints {
  /** Renews this control plane's key and rewrites the Endpoints if they differ from the live set. */
  reconcile(): Promise<void>;
  /** Stops renewing, removes this control plane's key and its address from the Endpoints. */
  stop(): Promise<void>;
}

export function startControlPlaneEndpoints(opts: ControlPlaneEndpointsOptions): ControlPlaneEndpoints {
  const clock = opts.clock ?? realClock;
  const { namespace, name } = opts.service;
  const prefix = opts.prefix ?? `${endpointLeasePrefix}${namespace}/${name}/`;
  const ttl = opts.ttlSeconds ?? 15;
  const period = opts.periodMs ?? 10_000;
  const key = `${prefix}${opts.address}`;
  let timer: Timer | undefined;
  let stopped = false;

  /**
   * Another control plane writing at the same moment is a Conflict (or AlreadyExists, both making
   * them again): read both again and retry.
   */
  const rewrite = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await rewriteOnce();
      } catch (err) {
        if (attempt >= 5 || !(isApiError(err, "Conflict") || isApiError(err, "AlreadyExists"))) throw err;
      }
    }
  };

  const rewriteOnce = async () => {
    const live = Object.values(await opts.etcd.getAll().prefix(prefix).strings()).sort(compareAddresses);
    const current = (await opts.registry.get(endpointsResource, namespace, name).catch((err: unknown) => {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    })) as (Endpoints & KubeObject) | undefined;
    const subsets = live.length === 0 ? [] : [{ addresses: live.map((ip) => ({ ip })), ports: opts.ports }];
    // Gone (deleted by hand, or by a controller that took them for a deleted Service's): made again,
    // as upstream's reconciler does; else the Service has no endpoint until a control plane restarts.
    if (!current) {
      const made: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace }, subsets };
      await opts.registry.create(endpointsResource, made as KubeObject);
      return;
    }
    if (JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets)) return;
    await opts.registry.update(endpointsResource, namespace, name, { ...current, subsets } as KubeObject);
  };

  const reconcile = async () => {
    await opts.etcd.lease(ttl, { autoKeepAlive: false }).put(key).value(opts.address);
    await rewrite();
  };

  const tick = () => {
    void reconcile()
      .catch((err: unknown) =>
        logWarning("control-plane-endpoints", `${namespace}/${name}: reconcile failed`, String(err)),
      )
      .finally(() => {
        if (!stopped) timer = clock.setTimer(period, tick);
      });
  };
  tick();

  return {
    reconcile,
    stop: async () => {
      stopped = true;
      timer?.cancel();
      await opts.etcd.delete().key(key);
      await rewrite();
    },
  };
}

/** IPv4 addresses in numeric order, anything else after them by text. */
function compareAddresses(a: string, b: string): number {
  const n = (ip: string) => {
    try {
      return parseIPv4(ip);
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  };
  return n(a) - n(b) || a.localeCompare(b);
}
