/**
 * What a node may write beyond "only for itself" (upstream's NodeRestriction admission and node
 * authorizer, applied to NodeService calls): the labels it registers, the pod IPs it reports and
 * the objects its events are about. Each check throws Forbidden naming the field and the value; none
 * of them reads the API (callers pass what they loaded), so each is decided on the object written.
 */
import { ApiError } from "../../foundation/api/errors.js";
import { cidrContains, parseCidr, parseIPv4 } from "../../foundation/util/ipv4.js";

export const hostnameLabel = "kubernetes.io/hostname";

/** Labels a kubelet may set on its own Node (upstream's `kubeletapis.KubeletLabels()`). */
const kubeletLabels = new Set([
  hostnameLabel,
  "kubernetes.io/arch",
  "kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);
/** Label namespaces (and their subdomains) a kubelet may use freely. */
const kubeletNamespaces = ["kubelet.kubernetes.io", "node.kubernetes.io"];
/** Label namespaces reserved to the cluster: a node may use only the kubelet labels in them. */
const reservedNamespaces = ["kubernetes.io", "k8s.io"];

const within = (prefix: string, domain: string) => prefix === domain || prefix.endsWith(`.${domain}`);

/**
 * Throws Forbidden unless a node named `node` may set all of `labels` on itself: labels in the
 * `kubernetes.io` and `k8s.io` namespaces only from the kubelet's set (so never
 * `node-restriction.kubernetes.io/`, which admins use to steer workloads to trusted nodes), and
 * `kubernetes.io/hostname` only as its own name (it steers nodeSelector and topology spreading).
 */
export function checkNodeLabels(node: string, labels: Readonly<Record<string, string>>): void {
  const refused: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.indexOf("/");
    const prefix = slash < 0 ? "" : key.slice(0, slash);
    if (key === hostnameLabel) {
      if (value !== node) refused.push(`${key}=${value} (must be the node's name "${node}")`);
    } else if (
      reservedNamespaces.some((d) => within(prefix, d)) &&
      !kubeletLabels.has(key) &&
      !kubeletNamespaces.some((d) => within(prefix, d))
    ) {
      refused.push(key);
    }
  }
  if (refused.length) {
    throw new ApiError("Forbidden", `node "${node}" may not set labels on itself: ${refused.join(", ")}`);
  }
}

interface ReportedIps {
  podIP?: string;
  podIPs?: readonly { ip?: string }[];
}

/**
 * Throws Forbidden unless every pod IP in a status report lies in one of the node's podCIDRs: a
 * node that could report any IP would steer Service traffic (Endpoints follow podIP) to addresses
 * of its choosing.
 */
export function checkPodIps(node: string, podCidrs: readonly string[], status: ReportedIps): void {
  const cidrs = podCidrs.map(parseCidr);
  const ips = [status.podIP, ...(status.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string => !!ip);
  for (const ip of ips) {
    let addr: number;
    try {
      addr = parseIPv4(ip);
    } catch {
      throw new ApiError(
        "Forbidden",
        `node "${node}" reported status.podIP "${ip}", which is not an IPv4 address`,
      );
    }
    if (!cidrs.some((c) => cidrContains(c, addr))) {
      throw new ApiError(
        "Forbidden",
        `node "${node}" reported status.podIP "${ip}" outside its podCIDR ${podCidrs.join(", ") || "(none allocated)"}`,
      );
    }
  }
}

export interface EventSubject {
  kind?: string;
  namespace?: string;
  name?: string;
}

/**
 * Throws Forbidden unless an event a node records is about the node itself or about a pod bound to
 * it, in the event's own namespace. `podNode` gives the node a pod is bound to (undefined when the
 * pod does not exist).
 */
export async function checkEventSubject(
  node: string,
  eventNamespace: string,
  subject: EventSubject | undefined,
  podNode: (namespace: string, name: string) => Promise<string | undefined>,
): Promise<void> {
  const what = `${subject?.kind ?? "(no kind)"} "${subject?.namespace ? `${subject.namespace}/` : ""}${subject?.name ?? ""}"`;
  if (subject?.kind === "Node" && subject.name === node) return;
  if (
    subject?.kind === "Pod" &&
    subject.name &&
    subject.namespace === eventNamespace &&
    (await podNode(eventNamespace, subject.name)) === node
  ) {
    return;
  }
  throw new ApiError(
    "Forbidden",
    `node "${node}" may record events only about itself and its pods, not about ${what} in namespace "${eventNamespace}"`,
  );
}

export interface ReportedPod {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * The pods of a usage report that are the node's own: bound to `node`, with the reported uid.
 * Pods that no longer exist or were replaced (another uid) are dropped, since an honest agent
 * reports them for a moment after a deletion; a pod that exists with that uid on another node (or
 * on none) is something no honest agent reports, and the whole report is refused naming it.
 */
export function ownPodStats<T extends ReportedPod>(
  node: string,
  reported: readonly T[],
  pod: (namespace: string, name: string) => { uid?: string; nodeName?: string } | undefined,
): T[] {
  const own: T[] = [];
  for (const r of reported) {
    const found = pod(r.namespace, r.name);
    if (!found || found.uid !== r.uid) continue;
    if (found.nodeName !== node) {
      throw new ApiError(
        "Forbidden",
        `node "${node}" may report usage only of its own pods, not of pod "${r.namespace}/${r.name}" ` +
          `(bound to ${found.nodeName ? `node "${found.nodeName}"` : "no node"})`,
      );
    }
    own.push(r);
  }
  return own;
}

/**
 * The cluster-wide kinds a node may watch (WatchObjects), each for what its agent does with them:
 * Services, Endpoints and Nodes for the service proxy and host routes; NetworkPolicies,
 * Namespaces (their labels) and Pods for NetworkPolicy enforcement, which needs every pod's labels,
 * IP and named ports to know who may reach its own pods. Of other nodes' pods a node sees only that
 * (see `podAsPeer`), never their env, volumes or images: upstream's node authorizer lets a kubelet
 * read all pods, but nothing here needs more.
 */
export const nodeWatchableKinds = [
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "Endpoints" },
  { apiVersion: "v1", kind: "Node" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "v1", kind: "Namespace" },
  { apiVersion: "v1", kind: "Pod" },
] as const;

interface PeerPod {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Readonly<Record<string, string>>;
  };
  spec?: {
    nodeName?: string;
    containers?: readonly { name?: string; ports?: readonly unknown[] }[];
  };
  status?: { phase?: string; podIP?: string; podIPs?: readonly unknown[] };
}

/** What a node's WatchObjects stream carries of a pod: identity, labels, node, container ports, IPs. */
export function podAsPeer<T extends PeerPod>(pod: T): T {
  const { name, namespace, uid, resourceVersion, labels } = pod.metadata;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: { name, namespace, uid, resourceVersion, labels },
    spec: {
      nodeName: pod.spec?.nodeName,
      containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, ports: c.ports })),
    },
    status: { phase: pod.status?.phase, podIP: pod.status?.podIP, podIPs: pod.status?.podIPs },
  } as unknown as T;
}
