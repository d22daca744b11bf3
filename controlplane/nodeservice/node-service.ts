/**
 * The control plane's side of NodeService. It turns agent calls into API writes through the
 * registry (so they are validated like any other client's) and never lets a node act for another:
 * every call names a node, which must be the one in the caller's certificate, and pod writes must
 * target pods bound to that node.
 */
import type {
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { ApiError, isApiError } from "../../foundation/api/errors.js";
import { renewPeriodMs } from "../../foundation/api/node-timing.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { ReferencedKind } from "../../foundation/api/pod-references.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { nodeKeyAnnotation } from "../../foundation/bootstrap/node-keys.js";
import { nodeUserPrefix } from "../../foundation/bootstrap/node-names.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { logWarning } from "../../foundation/util/log.js";
import { tracer } from "../../foundation/util/trace.js";
import type {
  Lease,
  Node,
  NodeCondition,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
} from "../../proto/gen/api.js";
import type {
  FinalizePodDeletionRequest,
  GetObjectRequest,
  NodeStatsReport,
  ObjectEvent,
  PodStatusReport,
  PodTokenRequest,
  PodTokenResponse,
  RecordEventRequest,
  RegisterRequest,
  RegisterResponse,
  RenewLeaseRequest,
  TunnelFrame,
  WatchObjectsRequest,
  WatchPodsRequest,
} from "../../proto/gen/node.js";
import type { NodeRelationship } from "../client/index.js";
import { localStorageDirAnnotation, volumeNode } from "../controllers/volume/local-path.js";
import type { Registry } from "../registry/index.js";
import { issueToken, type TokenIssuerOptions } from "../serviceaccount/token-request.js";
import {
  type CallWithAuth,
  certificateAuthenticator,
  type NodeAuthenticator,
  requireSelf,
} from "./node-identity.js";
import { checkNodeKey, peerKeyHash } from "./node-key.js";
import {
  checkEventSubject,
  checkNodeLabels,
  checkPodIps,
  hostnameLabel,
  ownPodStats,
} from "./node-restriction.js";
import { allObjectsKey, type ObjectDispatcher, type Subscriber } from "./object-dispatcher.js";
import type { PodCidrAllocator } from "./pod-cidr-allocator.js";
import type { TunnelRegistry } from "./tunnels.js";

const trace = tracer("nodeservice");
const nodes = resourceForKind("v1", "Node")!;
const pods = resourceForKind("v1", "Pod")!;
const leases = resourceForKind("coordination.k8s.io/v1", "Lease")!;
const events = resourceForKind("v1", "Event")!;
const readable = {
  ConfigMap: resourceForKind("v1", "ConfigMap")!,
  Secret: resourceForKind("v1", "Secret")!,
  PersistentVolumeClaim: resourceForKind("v1", "PersistentVolumeClaim")!,
  PersistentVolume: resourceForKind("v1", "PersistentVolume")!,
};

function noRelationship(node: string, info: { plural: string }, namespace: string, name: string): ApiError {
  return new ApiError(
    "Forbidden",
    `${info.plural} "${name}" is forbidden: User "${nodeUserPrefix}${node}" cannot get resource ` +
      `"${info.plural}" in API group "" in the namespace "${namespace}": ` +
      `no relationship found between node '${node}' and this object`,
  );
}

/** Namespace of node heartbeat Leases, as in Kubernetes. */
export const nodeLeaseNamespace = "kube-node-lease";

export interface NodeServiceSettings {
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string;
  clusterDomain: string;
  leaseDurationSeconds: number;
  nodeEvictionTimeoutSeconds: number;
}

export interface NodeServiceDeps {
  registry: Registry;
  allocator: PodCidrAllocator;
  /** Pods routed by node. */
  pods: ObjectDispatcher<Pod & KubeObject>;
  /**
   * Which objects a node's pods refer to, from the informers that feed `pods`: a node learns of a
   * pod no sooner than this answers for it, and a volume refresh costs no etcd list.
   */
  related: NodeRelationship;
  /** Cluster-wide kinds agents follow: Service, Endpoints, Node. */
  watchable: Partial<Record<string, ObjectDispatcher<KubeObject>>>;
  /** ConfigMaps and Secrets by `namespace/name` (`ObjectDispatcher.byKey`), each watched only by nodes whose pods refer to it. */
  referenced?: Partial<Record<"ConfigMap" | "Secret", ObjectDispatcher<KubeObject>>>;
  tunnels: TunnelRegistry;
  settings: NodeServiceSettings;
  clock?: Clock;
  /** Where usage reports go (the metrics API's memory); reports are refused without one. */
  usage?: { record(node: string, report: NodeStatsReport): void };
  /** Who is calling; by default each call's certificate is read (see AuthenticatedConnections). */
  authenticate?: NodeAuthenticator;
  /** Mints ServiceAccount tokens for the pods' token volumes; without it nodes may not ask for any. */
  tokens?: TokenIssuerOptions;
}

export function nodeServiceImplementation(deps: NodeServiceDeps): UntypedServiceImplementation {
  const { registry, allocator, tunnels, settings } = deps;
  const clock = deps.clock ?? realClock;
  const authenticate = deps.authenticate ?? certificateAuthenticator;
  const now = () => new Date(clock.now()).toISOString();

  async function register(caller: string, keyHash: string, req: RegisterRequest): Promise<RegisterResponse> {
    requireSelf(caller, req.nodeName);
    const podCIDR = await allocator.allocate(req.nodeName);
    const status: Node["status"] = {
      capacity: req.capacity,
      allocatable: Object.keys(req.allocatable).length ? req.allocatable : req.capacity,
      addresses: req.addresses.map((a) => ({ type: a.type, address: a.address })),
      nodeInfo: {
        kernelVersion: req.kernelVersion,
        osImage: req.osImage,
        kubeletVersion: req.agentVersion,
        containerRuntimeVersion: "kshim",
        operatingSystem: "linux",
        architecture: process.arch === "x64" ? "amd64" : process.arch,
      },
      conditions: [readyCondition(now(), undefined)],
    };
    const labels = { [hostnameLabel]: req.nodeName, "kubernetes.io/os": "linux", ...req.labels };
    checkNodeLabels(req.nodeName, labels);
    const annotations: Record<string, string> = { [nodeKeyAnnotation]: keyHash };
    // Where its local-path volumes live: the node's own disk, so it may name any absolute path.
    if (req.localStorageDir) {
      if (!req.localStorageDir.startsWith("/"))
        throw new ApiError("BadRequest", `localStorageDir "${req.localStorageDir}" must be an absolute path`);
      annotations[localStorageDirAnnotation] = req.localStorageDir;
    }
    try {
      await registry.create(nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: req.nodeName, labels, annotations },
        spec: { podCIDR, podCIDRs: [podCIDR] },
      });
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) throw err;
      // The name is this key's, or was nobody's yet (a Node from before keys were recorded).
      await registry.patch(
        nodes,
        undefined,
        req.nodeName,
        { metadata: { labels, annotations }, spec: { podCIDR, podCIDRs: [podCIDR] } },
        { precondition: (node) => checkNodeKey(node, keyHash) },
      );
    }
    const current = (await registry.get(nodes, undefined, req.nodeName)) as Node & KubeObject;
    status.conditions = [readyCondition(now(), current.status?.conditions)];
    await registry.patchStatus(nodes, undefined, req.nodeName, { status });
    await renew(req.nodeName);
    trace("registered", req.nodeName, podCIDR);
    return {
      podCIDR,
      clusterCIDR: settings.clusterCidr,
      serviceCIDR: settings.serviceCidr,
      clusterDNS: settings.clusterDns,
      clusterDomain: settings.clusterDomain,
      leaseDurationSeconds: settings.leaseDurationSeconds,
      nodeEvictionTimeoutSeconds: settings.nodeEvictionTimeoutSeconds,
    };
  }

  /** The Lease this control plane last wrote per node: renewals pass it as the cached copy. */
  const lastLeases = new Map<string, KubeObject>();

  /**
   * Writes the node's renewTime as of now. `giveUpAt`: when the agent stops waiting for this call
   * (one renew period). A write still pending then is dropped, not made: the agent has counted it
   * as failed and sent the next one, which may be stored already, and this older renewTime written
   * after it would age the lease by the whole stall (7 s when a write waited on a dead etcd leader).
   */
  async function renew(nodeName: string, giveUpAt?: number): Promise<string> {
    const renewTime = new Date(clock.now()).toISOString().replace("Z", "000Z");
    const lease: Lease & KubeObject = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: nodeName, namespace: nodeLeaseNamespace },
      spec: { holderIdentity: nodeName, leaseDurationSeconds: settings.leaseDurationSeconds, renewTime },
    };
    const cached = lastLeases.get(nodeName);
    const precondition = () => {
      if (giveUpAt !== undefined && clock.now() > giveUpAt)
        throw new ApiError(
          "Timeout",
          `lease renewal of node "${nodeName}" from ${renewTime} not written: the agent gave up on it`,
        );
    };
    try {
      const written = await registry.patch(
        leases,
        nodeLeaseNamespace,
        nodeName,
        { spec: lease.spec },
        { precondition, ...(cached ? { cached } : {}) },
      );
      lastLeases.set(nodeName, written);
    } catch (err) {
      lastLeases.delete(nodeName);
      if (!isApiError(err, "NotFound")) throw err;
      lastLeases.set(nodeName, await registry.create(leases, lease));
    }
    return renewTime;
  }

  async function renewLease(caller: string, req: RenewLeaseRequest): Promise<{ renewTime: string }> {
    requireSelf(caller, req.nodeName);
    const started = clock.now();
    let renewed: { renewTime: string };
    try {
      renewed = await renewAndReport(req, started);
    } catch (err) {
      // An agent fences after F without a renewal: what failed here, and how fast, is what tells a
      // lost node from a control plane that could not write (etcd's leader gone, a full disk).
      logWarning(
        "nodeservice",
        "lease renewal failed",
        req.nodeName,
        `${clock.now() - started} ms`,
        String(err),
      );
      throw err;
    }
    const took = clock.now() - started;
    // Slower than a renewal period: the agent gave up on this call and counts it as failed. (A
    // failed one is logged once, above, with its time.)
    if (took > renewPeriodMs(settings.leaseDurationSeconds))
      logWarning("nodeservice", "lease renewal slower than the renew period", req.nodeName, `${took} ms`);
    return renewed;
  }

  async function renewAndReport(req: RenewLeaseRequest, started: number): Promise<{ renewTime: string }> {
    const renewTime = await renew(req.nodeName, started + renewPeriodMs(settings.leaseDurationSeconds));
    const node = (deps.watchable.Node?.cached(req.nodeName) ??
      (await registry.get(nodes, undefined, req.nodeName))) as Node & KubeObject;
    const current = node.status?.conditions ?? [];
    const reported = req.conditionsJson.map((b) => JSON.parse(b.toString()) as NodeCondition);
    // A renewing agent is alive: Ready comes back (the node lifecycle controller set it Unknown
    // while the lease lapsed) unless the agent reports otherwise.
    if (
      !reported.some((c) => c.type === "Ready") &&
      current.find((c) => c.type === "Ready")?.status !== "True"
    ) {
      reported.push(readyCondition(now(), current));
    }
    if (reported.length) {
      const conditions = mergeConditions(current, reported, now());
      await registry.patchStatus(nodes, undefined, req.nodeName, { status: { conditions } });
    }
    return { renewTime };
  }

  /** Throws unless `pod` is bound to `node` and, when `uid` is given, has that uid. */
  function checkOwnPod(node: string, pod: KubeObject, uid: string): void {
    const { namespace, name } = pod.metadata;
    if ((pod as Pod).spec?.nodeName !== node) {
      throw new ApiError("Forbidden", `pod "${namespace}/${name}" is not bound to node "${node}"`);
    }
    if (uid && pod.metadata.uid !== uid) {
      throw new ApiError(
        "Conflict",
        `pod "${namespace}/${name}" was replaced (uid ${pod.metadata.uid}, not ${uid})`,
      );
    }
  }

  /** Loads a pod and checks it is bound to the calling node (and, when given, has this uid). */
  async function ownPod(
    caller: string,
    namespace: string,
    name: string,
    uid: string,
  ): Promise<Pod & KubeObject> {
    const pod = (await registry.get(pods, namespace, name)) as Pod & KubeObject;
    checkOwnPod(caller, pod, uid);
    return pod;
  }

  /** The node's podCIDRs, from the informer's copy when there is one. */
  async function podCidrs(node: string): Promise<string[]> {
    const obj = (deps.watchable.Node?.cached(node) ?? (await registry.get(nodes, undefined, node))) as Node &
      KubeObject;
    return obj.spec?.podCIDRs?.length ? [...obj.spec.podCIDRs] : obj.spec?.podCIDR ? [obj.spec.podCIDR] : [];
  }

  async function reportPodStatus(node: string, req: PodStatusReport): Promise<{ resourceVersion: string }> {
    const status = JSON.parse(req.statusJson.toString()) as Pod["status"];
    if (status?.podIP || status?.podIPs?.length) checkPodIps(node, await podCidrs(node), status);
    // The ownership check runs on the object being written, in the same read-modify-write, and the
    // informer's copy of the pod usually spares the read: one etcd round trip per report.
    const cached = deps.pods.cached(`${req.namespace}/${req.name}`) as KubeObject | undefined;
    const updated = await registry.patchStatus(
      pods,
      req.namespace,
      req.name,
      { status },
      { ...(cached ? { cached } : {}), precondition: (pod) => checkOwnPod(node, pod, req.uid) },
    );
    return { resourceVersion: updated.metadata.resourceVersion ?? "" };
  }

  async function finalizePodDeletion(caller: string, req: FinalizePodDeletionRequest): Promise<object> {
    try {
      await ownPod(caller, req.namespace, req.name, req.uid);
      await registry.delete(pods, req.namespace, req.name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: req.uid },
      });
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
    return {};
  }

  async function getObject(node: string, req: GetObjectRequest): Promise<{ objectJson: Buffer }> {
    const info = readable[req.kind as keyof typeof readable];
    if (!info)
      throw new ApiError("BadRequest", `nodes may read ${Object.keys(readable).join(", ")}, not ${req.kind}`);
    if (req.kind === "PersistentVolume")
      return { objectJson: Buffer.from(JSON.stringify(await readVolume(node, req))) };
    // Upstream's node authorizer: an object is readable when a pod bound to the node refers to it.
    if (!deps.related(node, req.kind as ReferencedKind, req.namespace, req.name)) {
      throw noRelationship(node, info, req.namespace, req.name);
    }
    const obj = await registry.get(info, req.namespace, req.name);
    return { objectJson: Buffer.from(JSON.stringify(obj)) };
  }

  /**
   * Upstream's node authorizer for `serviceaccounts/token`: a node gets a token only for the
   * account of a pod bound to it, bound to that very pod.
   */
  async function requestPodToken(node: string, req: PodTokenRequest): Promise<PodTokenResponse> {
    if (!deps.tokens) throw new ApiError("NotFound", "this control plane issues no ServiceAccount tokens");
    // A token per pod start: the informers' copies of the pod and its node spare three of its four
    // etcd reads (the pod twice, the node; the ServiceAccount is still read). A copy that is not
    // the pod asked for (not seen yet, or an older pod of that name) is read from etcd, so the
    // checks below see the pod the agent means.
    const cached = deps.pods.cached(`${req.namespace}/${req.pod}`);
    const pod = (
      cached && req.podUid && cached.metadata.uid === req.podUid
        ? cached
        : await registry.get(pods, req.namespace, req.pod)
    ) as DeepReadonly<Pod & KubeObject>;
    if (pod.spec?.nodeName !== node || (req.podUid && req.podUid !== pod.metadata.uid)) {
      throw new ApiError(
        "Forbidden",
        `serviceaccounts "${pod.spec?.serviceAccountName ?? ""}" is forbidden: User "${nodeUserPrefix}${node}" cannot create resource ` +
          `"serviceaccounts/token" in API group "" in the namespace "${req.namespace}": ` +
          `no relationship found between node '${node}' and pod ${req.namespace}/${req.pod}`,
      );
    }
    const nodeObject = deps.watchable.Node?.cached(node);
    const issued = await issueToken(
      deps.tokens,
      req.namespace,
      pod.spec.serviceAccountName ?? "default",
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: {},
        spec: {
          ...(req.audience ? { audiences: [req.audience] } : {}),
          ...(req.expirationSeconds ? { expirationSeconds: req.expirationSeconds } : {}),
          boundObjectRef: { kind: "Pod", apiVersion: "v1", name: req.pod, uid: pod.metadata.uid! },
        },
      },
      { pod, ...(nodeObject ? { node: nodeObject } : {}) },
    );
    return issued;
  }

  /**
   * A PV is readable by the node its affinity names (the agent removes the directories of volumes
   * that are gone), or through a claim of one of the node's pods bound to it (`req.namespace` is
   * the claim's). A name that does not exist answers NotFound.
   */
  async function readVolume(node: string, req: GetObjectRequest): Promise<KubeObject> {
    const pv = (await registry.get(readable.PersistentVolume, undefined, req.name)) as PersistentVolume &
      KubeObject;
    if (volumeNode(pv) === node) return pv;
    const claimName = pv.spec?.claimRef?.namespace === req.namespace ? pv.spec.claimRef.name : undefined;
    if (claimName && deps.related(node, "PersistentVolumeClaim", req.namespace, claimName)) {
      const claim = (await registry.get(
        readable.PersistentVolumeClaim,
        req.namespace,
        claimName,
      )) as PersistentVolumeClaim & KubeObject;
      if (claim.spec?.volumeName === req.name) return pv;
    }
    throw noRelationship(node, readable.PersistentVolume, req.namespace, req.name);
  }

  async function recordEvent(node: string, req: RecordEventRequest): Promise<object> {
    const event = JSON.parse(req.eventJson.toString()) as KubeObject & {
      source?: { host?: string };
      involvedObject?: { kind?: string; namespace?: string; name?: string };
    };
    const namespace = event.metadata?.namespace || "default";
    await checkEventSubject(node, namespace, event.involvedObject, podNode);
    event.source = { ...event.source, host: node };
    await registry.create(events, event, { namespace });
    return {};
  }

  async function reportStats(node: string, req: NodeStatsReport): Promise<object> {
    requireSelf(node, req.nodeName);
    if (!deps.usage)
      throw new ApiError("ServiceUnavailable", "this control plane does not keep usage reports");
    // From the informer's copies only: a report every 15 s per node must not cost etcd reads, and
    // a pod the cache has not seen yet simply gets its metrics one report later.
    const pods = ownPodStats(node, req.pods, (namespace, name) => {
      const pod = deps.pods.cached(`${namespace}/${name}`) as (Pod & KubeObject) | undefined;
      return pod ? { uid: pod.metadata.uid ?? "", nodeName: pod.spec?.nodeName ?? "" } : undefined;
    });
    deps.usage.record(node, { ...req, pods });
    return {};
  }

  /** The node a pod is bound to; undefined when there is no such pod. */
  async function podNode(namespace: string, name: string): Promise<string | undefined> {
    try {
      const pod = (deps.pods.cached(`${namespace}/${name}`) ??
        (await registry.get(pods, namespace, name))) as Pod & KubeObject;
      return pod.spec?.nodeName || undefined;
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  /** Streams one dispatcher's objects for `key` until the client goes away. */
  function stream<T extends KubeObject>(
    call: ServerWritableStream<unknown, ObjectEvent>,
    dispatcher: ObjectDispatcher<T>,
    key: string,
  ): void {
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    const close = () => {
      closed = true;
      unsubscribe?.();
    };
    call.on("cancelled", close);
    call.on("close", close);
    call.on("error", close);
    const encode = (obj: unknown) => Buffer.from(JSON.stringify(obj));
    const sub: Subscriber<T> = {
      sync: (list, resourceVersion) =>
        call.write({ type: "SYNC", objectsJson: list.map(encode), resourceVersion }),
      change: (type, obj) =>
        call.write({
          type,
          objectsJson: [encode(obj)],
          resourceVersion: obj.metadata?.resourceVersion ?? "",
        }),
    };
    dispatcher
      .subscribe(key, sub)
      .then((unsub) => {
        unsubscribe = unsub;
        if (closed) unsub();
      })
      .catch((err: unknown) => endWithError(call, err));
  }

  /** Throws unless the call's certificate key is the one the caller's Node records (see node-key.ts). */
  async function requireNodeKey(node: string, call: CallWithAuth): Promise<void> {
    const keyHash = peerKeyHash(call);
    try {
      const obj = (deps.watchable.Node?.cached(node) ??
        (await registry.get(nodes, undefined, node))) as KubeObject;
      checkNodeKey(obj, keyHash);
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }

  function watchPods(call: ServerWritableStream<WatchPodsRequest, ObjectEvent>): void {
    try {
      requireSelf(authenticate(call), call.request.nodeName);
    } catch (err) {
      endWithError(call, err);
      return;
    }
    requireNodeKey(call.request.nodeName, call).then(
      () => stream(call, deps.pods, call.request.nodeName),
      (err: unknown) => endWithError(call, err),
    );
  }

  function watchObjects(call: ServerWritableStream<WatchObjectsRequest, ObjectEvent>): void {
    try {
      const node = authenticate(call);
      requireSelf(node, call.request.nodeName);
      const { kind, namespace, name } = call.request;
      const one = deps.referenced?.[kind as "ConfigMap" | "Secret"];
      if (one) {
        if (!name)
          throw new ApiError("BadRequest", `a watch of ${kind} names one object (namespace and name)`);
        // As upstream's node authorizer allows a kubelet's watch of one object its pods need.
        if (!deps.related(node, kind as ReferencedKind, namespace, name)) {
          throw noRelationship(node, readable[kind as "ConfigMap" | "Secret"], namespace, name);
        }
        stream(call, one, `${namespace}/${name}`);
        return;
      }
      const dispatcher = deps.watchable[kind];
      if (!dispatcher) {
        throw new ApiError(
          "BadRequest",
          `nodes may watch ${Object.keys(deps.watchable).join(", ")}, not "${call.request.kind}"`,
        );
      }
      stream(call, dispatcher, allObjectsKey);
    } catch (err) {
      endWithError(call, err);
    }
  }

  function tunnel(call: ServerDuplexStream<TunnelFrame, TunnelFrame>): void {
    let node: string;
    try {
      node = authenticate(call);
    } catch (err) {
      endWithError(call, err);
      return;
    }
    // Until the key is checked the tunnel is not attached, so no stream exists for a frame to answer.
    let detach: (() => void) | undefined;
    let ended = false;
    const end = () => {
      ended = true;
      detach?.();
    };
    call.on("data", (frame: TunnelFrame) => {
      if (detach) tunnels.receive(node, frame);
    });
    call.on("end", () => {
      end();
      call.end();
    });
    call.on("cancelled", end);
    call.on("error", end);
    requireNodeKey(node, call).then(
      () => {
        if (!ended) detach = tunnels.attach(node, { send: (frame) => call.write(frame) });
      },
      (err: unknown) => endWithError(call, err),
    );
  }

  return {
    Register: (
      call: ServerUnaryCall<RegisterRequest, RegisterResponse>,
      callback: sendUnaryData<RegisterResponse>,
    ) => {
      let keyHash: string;
      try {
        keyHash = peerKeyHash(call);
      } catch (err) {
        callback(toServiceError(err));
        return;
      }
      unary(authenticate, (caller: string, req: RegisterRequest) => register(caller, keyHash, req))(
        call,
        callback,
      );
    },
    RenewLease: unary(authenticate, renewLease),
    ReportPodStatus: unary(authenticate, reportPodStatus),
    FinalizePodDeletion: unary(authenticate, finalizePodDeletion),
    GetObject: unary(authenticate, getObject),
    RecordEvent: unary(authenticate, recordEvent),
    RequestPodToken: unary(authenticate, requestPodToken),
    ReportStats: unary(authenticate, reportStats),
    WatchPods: watchPods,
    WatchObjects: watchObjects,
    Tunnel: tunnel,
  };
}

function readyCondition(now: string, previous: NodeCondition[] | undefined): NodeCondition {
  const old = previous?.find((c) => c.type === "Ready");
  return {
    type: "Ready",
    status: "True",
    reason: "AgentReady",
    message: "node agent is posting ready status",
    lastHeartbeatTime: now,
    lastTransitionTime: old?.status === "True" && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
}

/** Applies reported conditions, keeping lastTransitionTime when a condition's status did not change. */
export function mergeConditions(
  current: NodeCondition[],
  reported: NodeCondition[],
  now: string,
): NodeCondition[] {
  const merged = current.filter((c) => !reported.some((r) => r.type === c.type));
  for (const r of reported) {
    const old = current.find((c) => c.type === r.type);
    merged.push({
      ...r,
      lastHeartbeatTime: now,
      lastTransitionTime:
        old && old.status === r.status && old.lastTransitionTime ? old.lastTransitionTime : now,
    });
  }
  return merged;
}

/**
 * Ends a server stream with `err`'s status, which the client's stream then reports. grpc-js's own
 * error handler on a server stream records the status and ends the call; `destroy()` would skip the
 * end, so no status is ever sent and the client's stream stays open.
 */
function endWithError(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  err: unknown,
): void {
  call.emit("error", toServiceError(err));
}

/** A unary handler that gets the calling node, named once as the call starts, and the request. */
function unary<Req, Res>(authenticate: NodeAuthenticator, fn: (caller: string, req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let caller: string;
    try {
      caller = authenticate(call);
    } catch (err) {
      callback(toServiceError(err));
      return;
    }
    fn(caller, call.request).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** The one mapping of errors to gRPC status: ApiError carries its code, anything else is Internal. */
export function toServiceError(err: unknown): Error & { code: number; details: string } {
  if (err instanceof ApiError) {
    return Object.assign(new Error(err.message), {
      code: err.grpcCode,
      details: `${err.reason}: ${err.message}`,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), { code: 13, details: `InternalError: ${message}` });
}
