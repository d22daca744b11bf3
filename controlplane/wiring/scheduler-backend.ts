/**
 * Connects the scheduler to this control plane: informers from the shared factory, bindings and
 * conditions through the registry (validated like API calls), events through the recorder.
 */
import type { Node, Pod, PodCondition } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import type { DeepReadonly } from "../client/index.js";
import type { InformerFactory } from "../client/informer-factory.js";
import type { EventSink } from "../events/event-recorder.js";
import type { Registry } from "../registry/index.js";
import type { SchedulerBackend } from "../scheduler/index.js";

const pods = resourceForKind("v1", "Pod")!;
const nodes = resourceForKind("v1", "Node")!;

export function schedulerBackend(
  registry: Registry,
  informers: InformerFactory,
  events: EventSink,
): SchedulerBackend {
  return {
    pods: informers.pods(),
    nodes: informers.informer<Node & KubeObject>(nodes),
    async bind(pod, nodeName) {
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
