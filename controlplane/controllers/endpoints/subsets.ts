/**
 * What a Service's Endpoints should say, as a pure function of the Service and its selected pods:
 * which pods count (an IP, not finished, not terminating), which are ready, and which port each
 * service port reaches on each pod. Addresses are grouped into subsets by the set of ports they
 * resolved, as Kubernetes' RepackSubsets does, and everything is sorted so equal inputs give equal
 * output (the controller writes only when the content changed).
 */
import type {
  EndpointAddress,
  EndpointPort,
  EndpointSubset,
  ObjectReference,
  Pod,
  Service,
  ServicePort,
} from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodReady } from "../../client/pod-state.js";

type ReadonlyPod = DeepReadonly<Pod>;

/**
 * A pod is an endpoint while it has an IP and neither finished nor started terminating. A pod
 * being deleted leaves at once: the node agent waits for that before it stops the containers, which
 * is what lets a rolling update lose no request.
 */
export function isEndpointCandidate(pod: ReadonlyPod): boolean {
  const phase = pod.status?.phase;
  return (
    Boolean(pod.status?.podIP) &&
    phase !== "Succeeded" &&
    phase !== "Failed" &&
    !pod.metadata.deletionTimestamp
  );
}

/** Ready addresses take traffic: Running and Ready, or any candidate when the Service publishes not-ready ones. */
function isReadyEndpoint(pod: ReadonlyPod, publishNotReady: boolean): boolean {
  return publishNotReady || (pod.status?.phase === "Running" && isPodReady(pod));
}

/**
 * The container port `servicePort.targetPort` names on `pod`: a number as it is, a name looked up
 * among the pod's container ports of the same protocol. Undefined when the pod has no such port.
 */
export function resolveTargetPort(
  servicePort: DeepReadonly<ServicePort>,
  pod: ReadonlyPod,
): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (target === undefined || typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = servicePort.protocol ?? "TCP";
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? "TCP") === protocol) return port.containerPort;
    }
  }
  return undefined;
}

/**
 * The DNS hostname a pod carries in `service`'s endpoints: its `spec.hostname` when its
 * `spec.subdomain` names this Service (same namespace, as the pod's own), as upstream's endpoints
 * and EndpointSlice controllers do. The cluster DNS serves `HOSTNAME.SERVICE.NS.svc…` from it.
 */
export function endpointHostname(service: DeepReadonly<Service>, pod: ReadonlyPod): string | undefined {
  const hostname = pod.spec?.hostname;
  return hostname &&
    pod.spec?.subdomain === service.metadata.name &&
    pod.metadata.namespace === service.metadata.namespace
    ? hostname
    : undefined;
}

/**
 * What an Endpoints address and an EndpointSlice endpoint both say of `pod`: the pod itself, its
 * DNS hostname for `service` and its node, the last two only when there are any.
 */
export function podEndpointFields(
  service: DeepReadonly<Service>,
  pod: ReadonlyPod,
): { targetRef: ObjectReference; hostname?: string; nodeName?: string } {
  const hostname = endpointHostname(service, pod);
  return {
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace ?? "",
      name: pod.metadata.name ?? "",
      uid: pod.metadata.uid ?? "",
    },
    ...(hostname ? { hostname } : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
  };
}

function addressOf(service: DeepReadonly<Service>, pod: ReadonlyPod): EndpointAddress {
  return { ip: pod.status?.podIP ?? "", ...podEndpointFields(service, pod) };
}

/** The endpoint ports `pod` serves for `service`; a port the pod cannot resolve is left out. */
function portsOf(service: DeepReadonly<Service>, pod: ReadonlyPod): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const port = resolveTargetPort(sp, pod);
    if (port === undefined) continue;
    const ep: EndpointPort = { port, protocol: sp.protocol ?? "TCP" };
    if (sp.name) ep.name = sp.name;
    ports.push(ep);
  }
  return ports.sort(comparePorts);
}

/**
 * The subsets of `service` over `pods` (already selected by its selector). A Service with ports
 * drops the pods that resolve none of them; a headless Service without ports lists every candidate
 * in one portless subset, as Kubernetes does.
 */
export function endpointSubsets(
  service: DeepReadonly<Service>,
  pods: readonly ReadonlyPod[],
): EndpointSubset[] {
  const publishNotReady = service.spec?.publishNotReadyAddresses ?? false;
  const hasPorts = (service.spec?.ports ?? []).length > 0;
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const pod of pods) {
    if (!isEndpointCandidate(pod)) continue;
    const ports = portsOf(service, pod);
    if (hasPorts && ports.length === 0) continue;
    const key = JSON.stringify(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, ready: [], notReady: [] };
      groups.set(key, group);
    }
    (isReadyEndpoint(pod, publishNotReady) ? group.ready : group.notReady).push(addressOf(service, pod));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => {
      const subset: EndpointSubset = {};
      if (g.ready.length > 0) subset.addresses = g.ready.sort(compareAddresses);
      if (g.notReady.length > 0) subset.notReadyAddresses = g.notReady.sort(compareAddresses);
      if (g.ports.length > 0) subset.ports = g.ports;
      return subset;
    });
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  const ka = `${a.ip}\0${a.targetRef?.name ?? ""}`;
  const kb = `${b.ip}\0${b.targetRef?.name ?? ""}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  const ka = `${a.name ?? ""}\0${a.port}\0${a.protocol}`;
  const kb = `${b.name ?? ""}\0${b.port}\0${b.protocol}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
