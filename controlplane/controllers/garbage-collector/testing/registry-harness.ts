/**
 * Integration-test support for the garbage collector, namespace and node lifecycle controllers: a
 * real etcd, the store and Registry over it, the shared informer factory, a `ControllerClient` that
 * calls the Registry in-process (the way the control plane runs controllers), and Event recorders.
 * Nothing here is faked; `stop()` closes everything it started, the etcd process included.
 */
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import type { KubeObject } from "../../../api/object.js";
import { type ResourceInfo, resourceForKind } from "../../../api/resources.js";
import { EventRecorder } from "../../../events/event-recorder.js";
import { InformerFactory } from "../../../informers/informer-factory.js";
import { Registry } from "../../../registry/index.js";
import { Store } from "../../../store/store.js";
import { type EtcdServer, startEtcd } from "../../../testing/etcd-server.js";
import type { Clock } from "../../../util/clock.js";
import type { ApiObject, ControllerClient, ControllerDeleteOptions } from "../../client.js";

/** The in-process ControllerClient: each method is one Registry call, errors passed through as they are. */
export function registryClient(registry: Registry): ControllerClient {
  const ns = (namespace: string | undefined): string | undefined => namespace || undefined;
  return {
    get: async <T extends ApiObject>(info: ResourceInfo, namespace: string, name: string) =>
      (await registry.get(info, ns(namespace), name)) as unknown as T,
    create: async <T extends ApiObject>(info: ResourceInfo, namespace: string, obj: T) =>
      (await registry.create(info, obj, namespace ? { namespace } : {})) as unknown as T,
    update: async <T extends ApiObject>(info: ResourceInfo, obj: T) =>
      (await registry.update(info, ns(obj.metadata.namespace), obj.metadata.name ?? "", obj)) as unknown as T,
    updateStatus: async <T extends ApiObject>(info: ResourceInfo, obj: T) =>
      (await registry.updateStatus(
        info,
        ns(obj.metadata.namespace),
        obj.metadata.name ?? "",
        obj,
      )) as unknown as T,
    patch: async <T extends ApiObject>(info: ResourceInfo, namespace: string, name: string, patch: object) =>
      (await registry.patch(info, ns(namespace), name, patch)) as unknown as T,
    delete: async (
      info: ResourceInfo,
      namespace: string,
      name: string,
      opts: ControllerDeleteOptions = {},
    ) => {
      // Evictions send gracePeriodSeconds (node-lifecycle's EvictionDeleteOptions) beyond the interface.
      const grace = (opts as { gracePeriodSeconds?: number }).gracePeriodSeconds;
      await registry.delete(info, ns(namespace), name, {
        ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
        ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
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
    client: registryClient(registry),
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
