/**
 * Integration-test support for the controllers (garbage collector, namespace, node lifecycle,
 * endpoints) and cluster DNS: a real etcd, the store and Registry over it, the shared informer
 * factory, the control plane's own in-process `ControllerClient` over the Registry, Event recorders,
 * and pods taken through what their node's agent would report.
 * Nothing here is faked; `stop()` closes everything it started, the etcd process included.
 */
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import type { KubeObject } from "../../../../foundation/api/object.js";
import { resourceForKind } from "../../../../foundation/api/resources.js";
import type { Clock } from "../../../../foundation/util/clock.js";
import type { Pod } from "../../../../proto/gen/api.js";
import type { ControllerClient } from "../../../client/controller-client.js";
import type { ControllerRunDeps } from "../../../client/controller-start.js";
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

const pods = resourceForKind("v1", "Pod")!;

/** What a controller's start function is given by `runController`. */
export type HarnessControllerDeps = ControllerRunDeps & { informers: InformerFactory };

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
  /**
   * Starts a controller on the harness's informers and client, recording Events as `component`;
   * it runs until `stop()`, which waits for its workers before closing the rest.
   */
  runController(component: string, start: (deps: HarnessControllerDeps) => { done: Promise<void> }): void;
  /**
   * Creates `pod` in "default", binds it to `node` and reports it Running at `ip`, Ready unless
   * `ready` is false, as its node's agent would.
   */
  runPod(pod: Pod, at: { node: string; ip: string; ready?: boolean }): Promise<void>;
  /** Reports the pod "default/`name`" Running at `ip`, with its Ready condition `ready`. */
  reportRunning(name: string, ip: string, ready: boolean): Promise<void>;
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
  const controllers = new AbortController();
  const running: Promise<void>[] = [];
  const reportRunning = async (name: string, ip: string, ready: boolean) => {
    const current = (await registry.get(pods, "default", name)) as Pod & KubeObject;
    await registry.updateStatus(pods, "default", name, {
      ...current,
      status: {
        ...current.status,
        phase: "Running",
        podIP: ip,
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      },
    });
  };
  const harness: RegistryHarness = {
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
    runController(component, start) {
      const deps = {
        informers,
        client: harness.client,
        recorder: harness.recorder(component),
        signal: controllers.signal,
      };
      running.push(start(deps).done);
    },
    async runPod(pod, at) {
      await registry.create(pods, pod, { namespace: "default" });
      await registry.bind("default", pod.metadata!.name!, { target: { name: at.node } });
      await reportRunning(pod.metadata!.name!, at.ip, at.ready ?? true);
    },
    reportRunning,
    async stop() {
      controllers.abort();
      await Promise.all(running);
      informers.stop();
      await Promise.all(recorders.map((r) => r.flush()));
      store.close();
      etcdClient.close();
      await etcd.stop();
    },
  };
  return harness;
}
