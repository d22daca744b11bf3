/**
 * The controller manager: every reconcile loop of the control plane, started together for one
 * leadership term and stopped by its signal. Loops read from the shared informers and write through
 * the registry; each reports its events under its own component name, like kube-controller-manager.
 */
import { setMaxListeners } from "node:events";
import type { Registry as MetricsRegistry } from "prom-client";
import type { Deployment, ReplicaSet } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import type { InformerFactory } from "../client/informer-factory.js";
import { startDeploymentController } from "../controllers/deployment/start.js";
import { startEndpointsController } from "../controllers/endpoints/index.js";
import { startEndpointSliceController } from "../controllers/endpointslice/index.js";
import { startGarbageCollector } from "../controllers/garbage-collector/index.js";
import { startLoadBalancerController } from "../controllers/load-balancer/index.js";
import { startNamespaceController } from "../controllers/namespace/index.js";
import { startNodeLifecycleController } from "../controllers/node-lifecycle/index.js";
import { startReplicaSetController } from "../controllers/replicaset/index.js";
import { startAllocationRepair } from "../controllers/service-allocation-repair/index.js";
import { EventRecorder } from "../events/event-recorder.js";
import type { Registry } from "../registry/index.js";
import { tracer } from "../util/trace.js";
import { registryClient } from "./registry-client.js";

const trace = tracer("controller-manager");

export interface ControllerManagerDeps {
  registry: Registry;
  informers: InformerFactory;
  metrics: MetricsRegistry;
  /** A node whose lease is older than this is NotReady/Unknown (Kubernetes' 40 s). */
  nodeGracePeriodSeconds: number;
  /** Pods on an unreachable node are evicted after this unless they tolerate longer (300 s). */
  podEvictionTimeoutSeconds: number;
}

/** Runs every controller until `signal` aborts; resolves when all have stopped. */
export async function runControllers(deps: ControllerManagerDeps, signal: AbortSignal): Promise<void> {
  const { registry, informers, metrics } = deps;
  const client = registryClient(registry);
  const recorder = (component: string) => new EventRecorder({ registry, component });
  const onError = (key: string, err: unknown) => trace("sync failed", key, String(err));
  const pods = informers.pods();
  const replicaSets = informers.informer<ReplicaSet & KubeObject>(resourceForKind("apps/v1", "ReplicaSet")!);
  const deployments = informers.informer<Deployment & KubeObject>(resourceForKind("apps/v1", "Deployment")!);
  await informers.waitForSync();
  // Every event handler a controller registers listens on this signal to unregister itself: a
  // fixed number, above Node's default warning threshold of 10.
  setMaxListeners(0, signal);
  const common = { client, signal, metrics, onError };
  const started = [
    startReplicaSetController({ ...common, pods, replicaSets, recorder: recorder("replicaset-controller") }),
    startDeploymentController({
      ...common,
      deployments,
      replicaSets,
      pods,
      recorder: recorder("deployment-controller"),
    }),
    startEndpointsController({ ...common, informers, recorder: recorder("endpoint-controller") }),
    startEndpointSliceController({ ...common, informers, recorder: recorder("endpointslice-controller") }),
    startLoadBalancerController({ ...common, informers, recorder: recorder("service-lb-controller") }),
    startGarbageCollector({ ...common, informers, recorder: recorder("garbage-collector-controller") }),
    startNamespaceController({
      ...common,
      informers,
      content: registry,
      recorder: recorder("namespace-controller"),
    }),
    startNodeLifecycleController({
      ...common,
      informers,
      recorder: recorder("node-controller"),
      gracePeriodMs: deps.nodeGracePeriodSeconds * 1000,
      defaultTolerationSeconds: deps.podEvictionTimeoutSeconds,
    }),
    startAllocationRepair({ repair: () => registry.serviceAllocator.repair(), signal, onError }),
  ];
  await Promise.all(started.map((s) => s.done));
}
