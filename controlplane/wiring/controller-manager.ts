/**
 * The controller manager: every reconcile loop of the control plane, started together for one
 * leadership term and stopped by its signal. Loops read from the shared informers and write through
 * the registry; each reports its events under its own component name, like kube-controller-manager.
 */
import { setMaxListeners } from "node:events";
import type { Registry as MetricsRegistry } from "prom-client";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { tracer } from "../../foundation/util/trace.js";
import type {
  ControllerRevision,
  CronJob,
  DaemonSet,
  Deployment,
  HorizontalPodAutoscaler,
  Job,
  Node,
  PodDisruptionBudget,
  ReplicaSet,
  StatefulSet,
} from "../../proto/gen/api.js";
import type { InformerFactory } from "../client/informer-factory.js";
import { startCronJobController } from "../controllers/cronjob/index.js";
import { startDaemonSetController } from "../controllers/daemonset/index.js";
import { startDeploymentController } from "../controllers/deployment/start.js";
import { startDisruptionController } from "../controllers/disruption/index.js";
import { startEndpointsController } from "../controllers/endpoints/index.js";
import { startEndpointSliceController } from "../controllers/endpointslice/index.js";
import { startGarbageCollector } from "../controllers/garbage-collector/index.js";
import { startIngressController } from "../controllers/ingress/index.js";
import { startJobController } from "../controllers/job/index.js";
import { startLoadBalancerController } from "../controllers/load-balancer/index.js";
import { startNamespaceController } from "../controllers/namespace/index.js";
import { startNodeLifecycleController } from "../controllers/node-lifecycle/index.js";
import { startPodAutoscalerController } from "../controllers/podautoscaler/index.js";
import { startReplicaSetController } from "../controllers/replicaset/index.js";
import { startAllocationRepair } from "../controllers/service-allocation-repair/index.js";
import { startServiceAccountController } from "../controllers/serviceaccount/index.js";
import { startStatefulSetController } from "../controllers/statefulset/index.js";
import { startTtlAfterFinishedController } from "../controllers/ttl-after-finished/index.js";
import { startVolumeController } from "../controllers/volume/index.js";
import { EventRecorder } from "../events/event-recorder.js";
import type { UsageStore } from "../metrics-api/usage-store.js";
import type { Registry } from "../registry/index.js";
import { registryClient } from "./registry-client.js";
import { usageMetricsSource } from "./resource-metrics.js";

const trace = tracer("controller-manager");

export interface ControllerManagerDeps {
  registry: Registry;
  informers: InformerFactory;
  metrics: MetricsRegistry;
  /** The cluster CA certificate, published to every namespace for the pods' token volumes. */
  caPem: string;
  /** A node whose lease is older than this is NotReady/Unknown (Kubernetes' 40 s). */
  nodeGracePeriodSeconds: number;
  /** Pods on an unreachable node are evicted after this unless they tolerate longer (300 s). */
  podEvictionTimeoutSeconds: number;
  /** The agents' usage reports (metrics.k8s.io's data), which the autoscaler reads. */
  usage: UsageStore;
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
  const jobs = informers.informer<Job & KubeObject>(resourceForKind("batch/v1", "Job")!);
  const cronJobs = informers.informer<CronJob & KubeObject>(resourceForKind("batch/v1", "CronJob")!);
  const hpas = informers.informer<HorizontalPodAutoscaler & KubeObject>(
    resourceForKind("autoscaling/v2", "HorizontalPodAutoscaler")!,
  );
  const daemonSets = informers.informer<DaemonSet & KubeObject>(resourceForKind("apps/v1", "DaemonSet")!);
  const statefulSets = informers.informer<StatefulSet & KubeObject>(
    resourceForKind("apps/v1", "StatefulSet")!,
  );
  const revisions = informers.informer<ControllerRevision & KubeObject>(
    resourceForKind("apps/v1", "ControllerRevision")!,
  );
  const nodes = informers.informer<Node & KubeObject>(resourceForKind("v1", "Node")!);
  const budgets = informers.informer<PodDisruptionBudget & KubeObject>(
    resourceForKind("policy/v1", "PodDisruptionBudget")!,
  );
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
    startJobController({ ...common, pods, jobs, recorder: recorder("job-controller") }),
    startCronJobController({ ...common, jobs, cronJobs, recorder: recorder("cronjob-controller") }),
    startTtlAfterFinishedController({ ...common, jobs, recorder: recorder("ttlafterfinished-controller") }),
    startDaemonSetController({
      ...common,
      daemonSets,
      pods,
      nodes,
      revisions,
      recorder: recorder("daemonset-controller"),
    }),
    startDisruptionController({
      ...common,
      budgets,
      pods,
      replicaSets,
      deployments,
      daemonSets,
      statefulSets,
      recorder: recorder("controllermanager"),
    }),
    startEndpointsController({ ...common, informers, recorder: recorder("endpoint-controller") }),
    startEndpointSliceController({ ...common, informers, recorder: recorder("endpointslice-controller") }),
    startLoadBalancerController({ ...common, informers, recorder: recorder("service-lb-controller") }),
    startIngressController({ ...common, informers, recorder: recorder("ingress-controller") }),
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
    startServiceAccountController({
      ...common,
      informers,
      caPem: deps.caPem,
      recorder: recorder("serviceaccount-controller"),
    }),
    startPodAutoscalerController({
      ...common,
      hpas,
      pods,
      metricsSource: usageMetricsSource(deps.usage, pods.lister),
      scales: {
        getScale: (info, namespace, name) => registry.getScale(info, namespace, name),
        updateScale: (info, namespace, name, scale) => registry.updateScale(info, namespace, name, scale),
      },
      recorder: recorder("horizontal-pod-autoscaler"),
    }),
    startStatefulSetController({
      ...common,
      sets: statefulSets,
      pods,
      claims: informers.informer(resourceForKind("v1", "PersistentVolumeClaim")!),
      revisions: informers.informer(resourceForKind("apps/v1", "ControllerRevision")!),
      recorder: recorder("statefulset-controller"),
    }),
    startVolumeController({
      ...common,
      claims: informers.informer(resourceForKind("v1", "PersistentVolumeClaim")!),
      volumes: informers.informer(resourceForKind("v1", "PersistentVolume")!),
      classes: informers.informer(resourceForKind("storage.k8s.io/v1", "StorageClass")!),
      nodes: informers.informer(resourceForKind("v1", "Node")!),
      recorder: recorder("persistentvolume-controller"),
    }),
    startAllocationRepair({ repair: () => registry.serviceAllocator.repair(), signal, onError }),
  ];
  await Promise.all(started.map((s) => s.done));
}
