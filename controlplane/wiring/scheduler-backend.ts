/**
 * Connects the scheduler to this control plane: informers from the shared factory, bindings and
 * conditions through the registry (validated like API calls), events through the recorder.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import { quantityValue } from "../../foundation/api/quantity.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodCondition,
  StorageClass,
} from "../../proto/gen/api.js";
import type { DeepReadonly } from "../client/index.js";
import type { InformerFactory } from "../client/informer-factory.js";
import { defaultClass } from "../controllers/volume/controller.js";
import { volumeNode } from "../controllers/volume/local-path.js";
import type { EventSink } from "../events/event-recorder.js";
import type { Registry } from "../registry/index.js";
import type { SchedulerBackend } from "../scheduler/index.js";
import {
  claimsAwaitingNode,
  type StorageLister,
  selectedNodeAnnotation,
} from "../scheduler/volume-binding.js";

const pods = resourceForKind("v1", "Pod")!;
const nodes = resourceForKind("v1", "Node")!;
const claims = resourceForKind("v1", "PersistentVolumeClaim")!;
const volumes = resourceForKind("v1", "PersistentVolume")!;
const classes = resourceForKind("storage.k8s.io/v1", "StorageClass")!;

/** The scheduler's view of claims, volumes and classes, from the shared informers. */
export function schedulerStorage(informers: InformerFactory): StorageLister {
  const claimCache = informers.informer<PersistentVolumeClaim & KubeObject>(claims).lister;
  const volumeCache = informers.informer<PersistentVolume & KubeObject>(volumes).lister;
  const classCache = informers.informer<StorageClass & KubeObject>(classes).lister;
  const size = (q: string | undefined) => (q ? quantityValue(q) : 0);
  return {
    claim: (namespace, name) => claimCache.get(`${namespace}/${name}`),
    volume: (name) => volumeCache.get(name),
    storageClass: (name) => classCache.get(name),
    defaultClass: () => defaultClass(classCache.list()),
    committedOn(node) {
      let bytes = 0;
      for (const pv of volumeCache.list())
        if (volumeNode(pv) === node) bytes += size(pv.spec?.capacity?.storage);
      for (const c of claimCache.list())
        if (!c.spec?.volumeName && c.metadata.annotations?.[selectedNodeAnnotation] === node)
          bytes += size(c.spec?.resources?.requests?.storage);
      return bytes;
    },
  };
}

export function schedulerBackend(
  registry: Registry,
  informers: InformerFactory,
  events: EventSink,
  storage?: StorageLister,
): SchedulerBackend {
  return {
    pods: informers.pods(),
    nodes: informers.informer<Node & KubeObject>(nodes),
    async bind(pod, nodeName) {
      // Upstream's PreBind: WaitForFirstConsumer claims learn their node before the pod is bound,
      // so the PV controller provisions where the pod runs.
      for (const claim of storage ? claimsAwaitingNode(pod, nodeName, storage) : []) {
        await registry.patch(claims, claim.metadata.namespace, claim.metadata.name ?? "", {
          metadata: { annotations: { [selectedNodeAnnotation]: nodeName } },
        });
      }
      await registry.bind(
        pod.metadata.namespace ?? "default",
        pod.metadata.name ?? "",
        {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
          target: { apiVersion: "v1", kind: "Node", name: nodeName },
        },
        { cached: pod as KubeObject },
      );
    },
    async setCondition(pod, condition) {
      const others = (pod.status?.conditions ?? []).filter((c) => c.type !== condition.type);
      const conditions: PodCondition[] = [...(others as PodCondition[]), condition];
      await registry.patchStatus(pods, pod.metadata.namespace, pod.metadata.name ?? "", {
        metadata: { resourceVersion: pod.metadata.resourceVersion },
        status: { conditions },
      });
    },
    recordEvent(e) {
      events.event(asSubject(e.pod), e.type, e.reason, e.message);
    },
  };
}

function asSubject(pod: DeepReadonly<Pod>) {
  return { apiVersion: "v1", kind: "Pod", metadata: pod.metadata };
}
