/**
 * Integration-test support for the garbage collector, namespace and node lifecycle controllers: a
 * real etcd, the store and Registry over it, the shared informer factory, the control plane's own
 * in-process `ControllerClient` over the Registry, and Event recorders.
 * Nothing here is faked; `stop()` closes everything it started, the etcd process included.
 */
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import type { KubeObject } from "../../../../foundation/api/object.js";
import { resourceForKind } from "../../../../foundation/api/resources.js";
import type { Clock } from "../../../../foundation/util/clock.js";
import type { ControllerClient } from "../../../client/controller-client.js";
import { InformerFactory } from "../../../client/informer-factory.js";
import { EventRecorder } from "../../../events/event-recorder.js";
import { Registry } from "../../../registry/index.js";
import { Store } from "../../../store/store.js";
import { type EtcdServer, startEtcd } from "../../../testing/etcd-server.js";
import { registryClient } from "../../../wiring/registry-client.js";
import type { EvictionDeleteOptions } from "../../node-lifecycle/node-lifecycle-controller.js";

/**
 * The control plane's in-process ControllerClient (wiring/registry-client.ts), except that deletes
 * also forward `gracePeriodSeconds`, which node-lifecycle evictions send (EvictionDeleteOptions)
 * and the Registry honours. Drop the override once ControllerDeleteOptions carries that field and
 * the wiring client forwards it.
 */
function controllerClient(registry: Registry): ControllerClient {
  const client = registryClient(registry);
  return {
    ...client,
    delete: async (info, namespace, name, opts = {}) => {
      const grace = (opts as EvictionDeleteOptions).gracePeriodSeconds;
      if (grace === undefined) return client.delete(info, namespace, name, opts);
      await registry.delete(info, namespace || undefined, name, {
        gracePeriodSeconds: grace,
        ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
      });
    },
  };
}

export interface RegistryHarness {
  etcd: EtcdServer;
  store: Store;
  registry: Registry;
  informers: InformerFactory;
  client: ControllerClient;
  /** An Event recorder writing through the Registry as `component`. */
  recorder(component: string): EventRecorder;
  /** Events recorded about the object named `name`, as "Type Reason: message". */
  eventsAbout(name: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts etcd and everything above it; the informer factory is started (informers made later start
 * at once). `clock` stamps the Registry's and recorders' times; informers keep real time.
 */
export async function startRegistryHarness(opts: { clock?: Clock } = {}): Promise<RegistryHarness> {
  const etcd = await startEtcd();
  const etcdClient = new Etcd3({ hosts: etcd.endpoint });
  const store = new Store({ client: etcdClient, metrics: new MetricsRegistry() });
  const registry = new Registry({ store, ...(opts.clock ? { clock: opts.clock } : {}) });
  await registry.ensureSystemNamespaces();
  const informers = new InformerFactory(store);
  informers.start();
  const recorders: EventRecorder[] = [];
  return {
    etcd,
    store,
    registry,
    informers,
    client: controllerClient(registry),
    recorder(component) {
      const r = new EventRecorder({ registry, component, ...(opts.clock ? { clock: opts.clock } : {}) });
      recorders.push(r);
      return r;
    },
    async eventsAbout(name) {
      await Promise.all(recorders.map((r) => r.flush()));
      const list = await registry.list(resourceForKind("v1", "Event")!);
      return (
        list.items as (KubeObject & {
          involvedObject?: { name?: string };
          type?: string;
          reason?: string;
          message?: string;
        })[]
      )
        .filter((e) => e.involvedObject?.name === name)
        .map((e) => `${e.type} ${e.reason}: ${e.message}`);
    },
    async stop() {
      informers.stop();
      await Promise.all(recorders.map((r) => r.flush()));
      store.close();
      etcdClient.close();
      await etcd.stop();
    },
  };
}
