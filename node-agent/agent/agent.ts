/**
 * The node agent: joins its pieces together and runs until stopped. It registers the node over
 * NodeService, sets up the node's pod network once its podCIDR is known, runs a pod worker per pod
 * bound to it (containers through the OCI runtime, rootfs from the image store), and reports
 * status and events. Stopping the agent leaves containers running: a restarted agent adopts them.
 */

import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { cpus, hostname, release, totalmem } from "node:os";
import { join } from "node:path";
import { collectDefaultMetrics, Registry as MetricsRegistry } from "prom-client";
import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { primaryIPv4 } from "../../foundation/util/host-address.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { tracer } from "../../foundation/util/trace.js";
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  NetworkPolicy,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  Service,
} from "../../proto/gen/api.js";
import type { RegisterResponse } from "../../proto/gen/node.js";
import { ownHierarchies } from "../cgroups/hierarchies-linux.js";
import { PodCgroups, podCgroupsFile } from "../cgroups/pod-cgroups.js";
import { LoadBalancerAnnouncer, subnetLabels } from "../load-balancer/index.js";
import { PodNetwork } from "../network/index.js";
import { NetworkPolicyEnforcer, type PolicyInputKind } from "../network-policy/index.js";
import { PodManager } from "../pod-worker/pod-manager.js";
import { podMetrics } from "../pod-worker/pod-metrics.js";
import type { EventType } from "../pod-worker/pod-worker.js";
import { serviceEnv } from "../pod-worker/service-env.js";
import { TokenManager } from "../pod-worker/token-manager.js";
import { UserNamespaceRanges } from "../pod-worker/userns-ranges.js";
import { HealthCheckServer, ServiceProxy } from "../proxy/index.js";
import { HostRoutes, podMtu } from "../routes/index.js";
import {
  DEFAULT_IMAGE_GC_HIGH_PERCENT,
  DEFAULT_IMAGE_GC_LOW_PERCENT,
  type ImageGcThresholds,
  ImageStore,
} from "../runtime/images/index.js";
import type { LogRotation } from "../runtime/oci/container-config.js";
import { RuntimeClient } from "../runtime/oci/runtime-client.js";
import { nodeSeccompProfiles } from "../runtime/oci/seccomp-default.js";
import { ImagePuller } from "../runtime/registry/image-puller.js";
import type { RegistryConfig } from "../runtime/registry/index.js";
import { startStatsReporter } from "../stats/stats-reporter.js";
import {
  capacityNotEnforcedReason,
  claimDirectory,
  diskCapacity,
  localStorageDir,
  startVolumeReclaimer,
} from "../storage/local-volumes.js";
import { podStartLimit } from "../util/concurrency-limit.js";
import { nativeBuildPath } from "../util/native-build.js";
import { requestRenewedCertificate, startCertificateRotation } from "./cert-rotation.js";
import { type NodeIdentity, saveIdentity } from "./credentials.js";
import { startImageGc } from "./image-gc-loop.js";
import { NodeClient } from "./node-client.js";
import { NodeLink, type PodHost } from "./node-link.js";
import { ObjectMirror } from "./object-mirror.js";
import { ReferencedObjects } from "./referenced-objects.js";
import { TunnelClient } from "./tunnel-client.js";

const trace = tracer("agent");

/** The shim built by `make -C native`. */
export function defaultRuntimePath(): string {
  return nativeBuildPath("kshim");
}

export interface AgentOptions {
  identity: NodeIdentity;
  stateDir: string;
  /** The node's InternalIP; detected when omitted. */
  address?: string;
  runtimePath?: string;
  clock?: Clock;
  /** Serve Prometheus metrics at http://ADDR:PORT/metrics when given (e.g. "0.0.0.0:10249"). */
  metricsAddress?: string;
  /** Let pods run privileged containers (`--allow-privileged`); refused with an event otherwise. */
  allowPrivileged?: boolean;
  /** Most processes and threads per pod (the kubelet's podPidsLimit); -1 for none. Default 4096. */
  podPidsLimit?: number;
  /** Container log rotation (the kubelet's containerLogMaxSize/MaxFiles); 10 MiB × 5 when absent. */
  logRotation?: LogRotation;
  /** Image GC thresholds (the kubelet's imageGCHigh/LowThresholdPercent); 85/80 by default. */
  imageGc?: ImageGcThresholds;
  /** Registry settings for image pulls (`--registry-config`): mirrors, plain HTTP, CA per host. */
  registryConfig?: RegistryConfig;
  /** How often the node's and its pods' usage goes to the control plane; 15 s when absent. */
  statsIntervalMs?: number;
  /** Crash-loop backoff; the kubelet's 10 s doubling to 5 min by default. */
  backoff?: { baseMs: number; maxMs: number; resetAfterMs: number };
}

export interface Agent {
  /** Resolves once the node has registered and its pod network is up. */
  ready: Promise<RegisterResponse>;
  pods(): PodManager | undefined;
  /** Disconnects; containers keep running for the next agent to adopt. */
  stop(): Promise<void>;
}

export function startAgent(opts: AgentOptions): Agent {
  const { identity, stateDir } = opts;
  const clock = opts.clock ?? realClock;
  const nodeName = identity.nodeName;
  const address = opts.address ?? primaryIPv4();
  const client = new NodeClient({
    address: identity.nodeServiceAddress,
    caPem: identity.caPem,
    certPem: identity.certPem,
    keyPem: identity.keyPem,
  });
  const images = new ImageStore(stateDir);
  const imagePuller = new ImagePuller({
    store: images,
    clock,
    ...(opts.registryConfig ? { config: opts.registryConfig } : {}),
  });
  const imageGc = startImageGc(
    images,
    opts.imageGc ?? { highPercent: DEFAULT_IMAGE_GC_HIGH_PERCENT, lowPercent: DEFAULT_IMAGE_GC_LOW_PERCENT },
    clock,
  );
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });
  const metricsServer = opts.metricsAddress ? serveMetrics(metrics, opts.metricsAddress) : undefined;
  const runtime = new RuntimeClient(opts.runtimePath ?? defaultRuntimePath(), join(stateDir, "runtime"));
  let manager: PodManager | undefined;
  const services = new ObjectMirror<Service & KubeObject>(client, nodeName, "Service");
  const endpoints = new ObjectMirror<Endpoints & KubeObject>(client, nodeName, "Endpoints");
  const nodes = new ObjectMirror<Node & KubeObject>(client, nodeName, "Node");
  const policyMirrors = [
    new ObjectMirror<NetworkPolicy & KubeObject>(client, nodeName, "NetworkPolicy"),
    new ObjectMirror<Namespace & KubeObject>(client, nodeName, "Namespace"),
    new ObjectMirror<Pod & KubeObject>(client, nodeName, "Pod"),
  ];
  let proxy: ServiceProxy | undefined;
  let stats: { stop(): void } | undefined;
  let policies: NetworkPolicyEnforcer | undefined;
  let routes: HostRoutes | undefined;
  let announcer: LoadBalancerAnnouncer | undefined;
  let healthChecks: HealthCheckServer | undefined;
  const tunnel = new TunnelClient(client, () => manager, runtime);
  let current = identity;
  const rotation = startCertificateRotation({
    clock,
    certPem: () => current.certPem,
    renew: () => requestRenewedCertificate(current),
    renewed: async (certPem) => {
      current = { ...current, certPem };
      await saveIdentity(stateDir, current);
      client.useCertificate(certPem);
    },
    failed: (err) => trace("certificate renewal failed", err.message),
  });
  let markReady: (res: RegisterResponse) => void = () => {};
  const ready = new Promise<RegisterResponse>((resolve) => (markReady = resolve));

  const event = (pod: Pod, type: EventType, reason: string, message: string) => {
    const e: Event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${pod.metadata.name}.${clock.now().toString(16)}${Math.floor(Math.random() * 4096).toString(16)}`,
        namespace: pod.metadata.namespace ?? "default",
      },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.metadata.name ?? "",
        namespace: pod.metadata.namespace ?? "",
        uid: pod.metadata.uid ?? "",
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: rfc3339(clock.now()),
      lastTimestamp: rfc3339(clock.now()),
      source: { component: "kctl-agent", host: nodeName },
    };
    client
      .call("RecordEvent", { eventJson: Buffer.from(JSON.stringify(e)) })
      .catch((err: unknown) => trace("event dropped", String(err)));
  };
  const getObject = async <T>(kind: string, namespace: string, name: string): Promise<T | undefined> => {
    try {
      const res = await client.call("GetObject", { kind, namespace, name });
      return JSON.parse(res.objectJson.toString()) as T;
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  };

  // ConfigMaps and Secrets of the node's pods: followed while a pod names them, so the volumes'
  // refresh reads a local copy instead of calling NodeService for each object every period.
  const referenced = new ReferencedObjects(client, nodeName, (kind, ns, name) =>
    getObject<KubeObject>(kind, ns, name),
  );

  const tokens = new TokenManager(
    (key) =>
      client.call("RequestPodToken", {
        namespace: key.namespace,
        pod: key.pod,
        podUid: key.podUid,
        audience: key.audience,
        expirationSeconds: key.expirationSeconds,
      }),
    clock,
  );

  const storageDir = localStorageDir(stateDir);
  const claimSources = {
    claim: (ns: string, name: string) => getObject<PersistentVolumeClaim>("PersistentVolumeClaim", ns, name),
    volume: (ns: string, name: string) => getObject<PersistentVolume>("PersistentVolume", ns, name),
  };
  // One CapacityNotEnforced event per pod and volume, not one per refresh.
  const warnedCapacity = new Set<string>();
  const claimDir = async (pod: Pod, claimName: string): Promise<string> => {
    const ns = pod.metadata.namespace ?? "default";
    const path = await claimDirectory(claimSources, nodeName, storageDir, ns, claimName);
    const key = `${pod.metadata.uid}/${claimName}`;
    if (!warnedCapacity.has(key)) {
      warnedCapacity.add(key);
      const why = await capacityNotEnforcedReason(path);
      event(
        pod,
        "Warning",
        "CapacityNotEnforced",
        `volume of claim "${claimName}": size is not enforced: ${why}`,
      );
    }
    return path;
  };
  let stopReclaimer = () => {};
  const onRegistered = async (res: RegisterResponse) => {
    if (manager) return;
    const network = new PodNetwork({
      stateDir,
      podCIDR: res.podCIDR,
      // Pods reach overlay peers without relying on PMTU discovery (see routes/pod-mtu-linux.ts).
      mtu: await podMtu(address),
      dns: {
        nameservers: res.clusterDNS ? [res.clusterDNS] : [],
        ...(res.clusterDomain ? { clusterDomain: res.clusterDomain } : {}),
      },
    });
    await network.ensureNode();
    const cgroups = await PodCgroups.place(await ownHierarchies(), nodeName, {
      ...(opts.podPidsLimit !== undefined ? { podPidsLimit: opts.podPidsLimit } : {}),
    });
    // `kctl reset` runs in a cgroup of its own and finds the pods' cgroups only through this.
    await writeFile(podCgroupsFile(stateDir), `${JSON.stringify({ dirs: cgroups.dirs })}\n`);
    manager = new PodManager({
      nodeName,
      hostIP: address,
      stateDir,
      cgroups,
      runtime,
      images,
      imagePuller,
      network,
      startLimit: podStartLimit(),
      ...(opts.logRotation ? { logRotation: opts.logRotation } : {}),
      security: {
        allowPrivileged: opts.allowPrivileged ?? false,
        seccompRoot: join(stateDir, "seccomp"),
        userNamespaces: new UserNamespaceRanges(stateDir),
        seccompProfiles: nodeSeccompProfiles,
      },
      clock,
      lookup: {
        configMap: (ns, name) => referenced.get<ConfigMap & KubeObject>("ConfigMap", ns, name),
        secret: (ns, name) => referenced.get<Secret & KubeObject>("Secret", ns, name),
        serviceAccountToken: (key) => tokens.token(key),
        claimDirectory: claimDir,
      },
      reportStatus: async (pod, status) => {
        await client.call("ReportPodStatus", {
          namespace: pod.metadata.namespace ?? "",
          name: pod.metadata.name ?? "",
          uid: pod.metadata.uid ?? "",
          statusJson: Buffer.from(JSON.stringify(status)),
        });
      },
      finalizeDeletion: async (pod) => {
        await client.call("FinalizePodDeletion", {
          namespace: pod.metadata.namespace ?? "",
          name: pod.metadata.name ?? "",
          uid: pod.metadata.uid ?? "",
        });
      },
      event,
      serviceEnv: (namespace) => serviceEnv(services.list(), namespace),
      metrics: podMetrics(metrics),
      waitForEndpointsWithdrawn: (pod, deadline) => waitForWithdrawal(endpoints, pod, deadline, clock),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
    // Services balance in the kernel and pods reach other hosts' pods: the proxy and the routes
    // follow the cluster's Services, Endpoints and Nodes from here on.
    const serviceProxy = new ServiceProxy({ clusterCIDR: res.clusterCIDR, registry: metrics, nodeName });
    const hostRoutes = new HostRoutes({ nodeName, podBridge: network.bridge });
    // LoadBalancer addresses this node is elected for are announced on its link (ARP).
    const lbAnnouncer = new LoadBalancerAnnouncer({ nodeName, hostIP: address });
    proxy = serviceProxy;
    routes = hostRoutes;
    announcer = lbAnnouncer;
    // Local-policy LoadBalancers: their healthCheckNodePort tells balancers whether this node has endpoints.
    const lbHealth = new HealthCheckServer({ nodeName });
    healthChecks = lbHealth;
    services.onChange((changed, removed) => {
      for (const s of changed) serviceProxy.setService(s);
      for (const s of removed) serviceProxy.deleteService(s);
      for (const s of changed) lbAnnouncer.setService(s);
      for (const s of removed) lbAnnouncer.deleteService(s);
      for (const s of changed) lbHealth.setService(s);
      for (const s of removed) lbHealth.deleteService(s);
    });
    endpoints.onChange((changed, removed) => {
      for (const e of changed) serviceProxy.setEndpoints(e);
      for (const e of removed) serviceProxy.deleteEndpoints(e);
      for (const e of changed) lbAnnouncer.setEndpoints(e);
      for (const e of removed) lbAnnouncer.deleteEndpoints(e);
      for (const e of changed) lbHealth.setEndpoints(e);
      for (const e of removed) lbHealth.deleteEndpoints(e);
    });
    nodes.onChange((changed, removed) => {
      for (const n of changed) hostRoutes.setNode(n);
      for (const n of removed) hostRoutes.deleteNode(n);
      for (const n of changed) lbAnnouncer.setNode(n);
      for (const n of removed) lbAnnouncer.deleteNode(n);
    });
    // NetworkPolicy for this node's pods, from every policy, namespace and pod of the cluster.
    const enforcer = new NetworkPolicyEnforcer({ nodeName });
    policies = enforcer;
    for (const mirror of policyMirrors) {
      mirror.onChange((changed, removed) => {
        for (const o of changed) enforcer.set(mirror.kind as PolicyInputKind, o);
        for (const o of removed) enforcer.delete(mirror.kind as PolicyInputKind, o);
      });
    }
    // Their first sync rewrites the whole table or route set from what they were fed, so they
    // start only once every mirror holds the cluster's full set: started empty, a restarted agent
    // would wipe the rules and routes the last one left, and its host would lose every Service
    // and every other host's pods until the lists arrived. Not awaited: the lease renewals and
    // the pod stream begin when this returns, and must not wait on a slow control plane's lists.
    const mirrors = [services, endpoints, nodes, ...policyMirrors];
    for (const mirror of mirrors) mirror.start();
    const consumers: [string, () => Promise<unknown>][] = [
      ["service proxy", () => serviceProxy.start()],
      ["network policy", () => enforcer.start()],
      ["host routes", () => hostRoutes.start()],
      ["load balancer announcer", () => lbAnnouncer.start()],
    ];
    void Promise.all(mirrors.map((m) => m.whenSynced())).then(async () => {
      // A failed first sync is retried by each in the background; the others start regardless.
      for (const [what, start] of consumers) {
        await start().catch((err: unknown) => trace(`${what}: first sync failed`, String(err)));
      }
    });
    tunnel.start();
    const podManager = manager;
    stats = startStatsReporter({
      nodeName,
      clock,
      ...(opts.statsIntervalMs !== undefined ? { intervalMs: opts.statsIntervalMs } : {}),
      pods: () => podManager.pods(),
      dirs: cgroups.usage,
      send: (report) => client.call("ReportStats", report),
    });
    // Directories of volumes whose PV is gone (its claim deleted, reclaim Delete) are removed.
    stopReclaimer = startVolumeReclaimer(
      storageDir,
      async (name) => (await claimSources.volume("", name)) !== undefined,
      30_000,
      (err) => trace("volume reclaim failed", String(err)),
    );
    markReady(res);
  };

  const pods: PodHost = {
    sync: (list) => {
      if (!manager) return;
      referenced.setPods(list);
      manager.sync(list);
    },
    upsert: (pod) => {
      if (!manager) return;
      referenced.addPod(pod);
      manager.upsert(pod);
    },
    remove: (pod) => {
      referenced.removePod(pod);
      manager?.remove(pod);
    },
    fence: async (reason) => manager?.fence(reason),
  };
  const link = new NodeLink({
    client,
    pods,
    clock,
    onRegistered,
    registration: {
      nodeName,
      addresses: [
        { type: "InternalIP", address },
        { type: "Hostname", address: nodeName },
      ],
      capacity: {
        cpu: String(cpus().length),
        memory: `${Math.floor(totalmem() / 1024)}Ki`,
        pods: "110",
        "ephemeral-storage": diskCapacity(stateDir),
      },
      allocatable: {},
      // Which subnet this host's ARP is heard on, for the LoadBalancer election.
      labels: subnetLabels(address),
      kernelVersion: release(),
      osImage: `Linux (${hostname()})`,
      agentVersion: "kctl-agent/0.1",
      localStorageDir: storageDir,
    },
  });
  link.start();
  return {
    ready,
    pods: () => manager,
    stop: async () => {
      rotation.stop();
      imageGc.stop();
      stats?.stop();
      stopReclaimer();
      tunnel.stop();
      services.stop();
      endpoints.stop();
      nodes.stop();
      for (const mirror of policyMirrors) mirror.stop();
      referenced.stop();
      await proxy?.stop();
      await policies?.stop();
      await routes?.stop();
      await announcer?.stop().catch(() => undefined);
      await healthChecks?.stop();
      metricsServer?.close();
      link.stop();
      manager?.detach();
      client.close();
    },
  };
}

/** Time the proxies of every node get to apply an endpoint change before the pod is stopped. */
const proxySettleMs = 1_000;

/**
 * Resolves once the pod's IP is in no Service's ready addresses (then after a moment for every
 * node's proxy to drop it), or at `deadline`: termination without lost requests.
 */
async function waitForWithdrawal(
  endpoints: ObjectMirror<Endpoints & KubeObject>,
  pod: Pod,
  deadline: number,
  clock: Clock,
): Promise<void> {
  const ip = pod.status?.podIP;
  if (!ip) return;
  const listed = () =>
    endpoints.list().some((e) => e.subsets?.some((s) => s.addresses?.some((a) => a.ip === ip)));
  const wasListed = listed();
  while (listed() && clock.now() < deadline) await clock.sleep(50);
  if (wasListed) await clock.sleep(Math.max(0, Math.min(proxySettleMs, deadline - clock.now())));
}

/** A plain HTTP /metrics endpoint for the agent's registry. */
function serveMetrics(registry: MetricsRegistry, address: string): Server {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  server.on("error", (err) => trace("metrics server failed", address, err.message));
  server.listen(port, host || "0.0.0.0");
  return server;
}
