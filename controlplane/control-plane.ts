/**
 * One control plane process: etcd (spawned as a child unless external endpoints are given), the
 * cluster PKI and admin token, the registry over etcd, the HTTPS apiserver, the NodeService for
 * agents, and the scheduler and controllers under leader election, so several control planes can
 * share one etcd and only one acts. Everything it starts, `stop()` stops, in reverse order.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { collectDefaultMetrics, Registry as MetricsRegistry } from "prom-client";
import { isApiError } from "../foundation/api/errors.js";
import {
  checkNodeTimings,
  defaultNodeGraceSeconds,
  defaultPodEvictionSeconds,
} from "../foundation/api/node-timing.js";
import type { KubeObject } from "../foundation/api/object.js";
import { resourceForKind } from "../foundation/api/resources.js";
import { ensureCa, ensureServiceAccountKey, ensureServingCert, type KeyPair } from "../foundation/pki/pki.js";
import type {
  ClusterRole,
  ClusterRoleBinding,
  Node,
  PersistentVolumeClaim,
  Role,
  RoleBinding,
  Secret,
} from "../proto/gen/api.js";
import { accessReviewRoutes } from "./apiserver/access-review.js";
import { AuditLog, type AuditOptions } from "./apiserver/audit.js";

// What `kctl up` needs to take the audit log's flags.
export { type AuditLevel, type AuditOptions, auditLevels } from "./apiserver/audit.js";

import { recordedNodeKey } from "../foundation/bootstrap/node-keys.js";
import { primaryIPv4 } from "../foundation/util/host-address.js";
import { tracer } from "../foundation/util/trace.js";
import { unionAuthorizer } from "./apiserver/authorization.js";
import { type ApiServer, startApiServer, type User } from "./apiserver/index.js";
import { nodeAuthorizer } from "./apiserver/node-authorizer.js";
import { type RbacListers, rbacAuthorizer, rulesFor } from "./apiserver/rbac-authorizer.js";
import {
  authenticateBootstrapToken,
  createBootstrapToken,
  mayJoinControlPlane,
  signingTokens,
  spendBootstrapTokenUse,
} from "./bootstrap/bootstrap-tokens.js";
import { controlPlaneJoinRoutes } from "./bootstrap/control-plane-join.js";
import { reconcileDefaultRbac } from "./bootstrap/default-rbac.js";
import { clusterInfoRoute, joinRoutes } from "./bootstrap/join-endpoint.js";
import { revokedKeyCheck } from "./bootstrap/node-revocation.js";
import { authenticateUserToken } from "./bootstrap/user-tokens.js";
import {
  type LeaderElectionOptions,
  type LeaderElector,
  type Lister,
  nodeRelationship,
  runUnelected,
  runWhenLeader,
} from "./client/index.js";
import { InformerFactory } from "./client/informer-factory.js";
import { startClusterDns } from "./dns/index.js";
import { type EtcdAccess, etcdClient, writeEtcdAccess } from "./etcd/etcd-access.js";
import { type EtcdClientTls, etcdCaName, etcdPkiDir } from "./etcd/etcd-pki.js";
import type { SupervisedEtcd } from "./etcd/etcd-supervisor.js";
import { type LocalMemberOptions, startLocalMember } from "./etcd/local-member.js";
import { EventRecorder } from "./events/event-recorder.js";
import { metricsApi } from "./metrics-api/metrics-api.js";
import { UsageStore } from "./metrics-api/usage-store.js";
import { execWebSocketHandler } from "./nodeservice/exec-websocket.js";
import { nodeWatchableKinds, podAsPeer } from "./nodeservice/node-restriction.js";
import { nodeLeaseNamespace } from "./nodeservice/node-service.js";
import { ObjectDispatcher } from "./nodeservice/object-dispatcher.js";
import { PodCidrAllocator } from "./nodeservice/pod-cidr-allocator.js";
import { podStreamHandlers } from "./nodeservice/pod-streams.js";
import { portForwardHandler } from "./nodeservice/portforward.js";
import { type NodeServiceServer, startNodeServiceServer } from "./nodeservice/server.js";
import { TunnelRegistry } from "./nodeservice/tunnels.js";
import { Registry } from "./registry/index.js";
import { volumeBindingFilter } from "./scheduler/filters/volume-binding.js";
import { defaultFilters, Scheduler } from "./scheduler/index.js";
import { Store } from "./store/index.js";
import { autoscalingV1Api } from "./wiring/autoscaling-v1.js";
import { startControlPlaneEndpoints } from "./wiring/control-plane-endpoints.js";
import { runControllers } from "./wiring/controller-manager.js";
import { ensureLocalPathClass } from "./wiring/default-storage-class.js";
import { ensureLoadBalancerPool } from "./wiring/load-balancer-pool.js";
import { schedulerBackend, schedulerStorage } from "./wiring/scheduler-backend.js";
import { wireServiceAccounts } from "./wiring/service-accounts.js";
import { ensureSystemServices, systemServiceIPs } from "./wiring/system-services.js";

const trace = tracer("control-plane");

export interface ControlPlaneOptions {
  stateDir: string;
  /** Address the apiserver and NodeService listen on. Default 0.0.0.0. */
  listenHost?: string;
  /** Addresses clients use to reach this control plane; they go into the serving certificate. */
  advertiseAddresses?: string[];
  /** HTTPS apiserver port (default 6443; 0 picks one). */
  port?: number;
  /** NodeService gRPC port (default port + 1; 0 picks one). */
  nodeServicePort?: number;
  /** The apiserver's audit log (apiserver/audit.ts); none when omitted. */
  audit?: AuditOptions;
  /** External etcd; when empty an etcd child runs with its data in `<stateDir>/etcd`. */
  etcdEndpoints?: string[];
  /** Client certificate for an external etcd served over https. */
  etcdClientTls?: EtcdClientTls;
  /** This host's etcd member (without etcdEndpoints): name, ports, initial cluster. */
  etcdMember?: LocalMemberOptions;
  clusterCidr?: string;
  serviceCidr?: string;
  /** LoadBalancer addresses (pool syntax) for kube-system/load-balancer-pool when the cluster has none. */
  loadBalancerPool?: string;
  /** G: a node silent this long turns Unknown (default 8; node-lifecycle README). */
  leaseDurationSeconds?: number;
  /** E: its pods are force-deleted this long after that (default 8); agents fence at G + E − 6 s. */
  nodeEvictionTimeoutSeconds?: number;
  /** Leader election lease length; a dead leader is replaced after this long. */
  leaderElectionTtlSeconds?: number;
  /** False runs the scheduler and controllers without electing a leader (one control plane only). Default true. */
  leaderElect?: boolean;
  /** Where the cluster DNS listens (default: the first non-loopback advertised address, else this host's). */
  dnsAddress?: string;
  /** Default 53 (0, a free port, when `port` is 0, as in tests). */
  dnsPort?: number;
  /** A bootstrap token (abcdef.0123456789abcdef) to accept for joining nodes, valid for a day. */
  bootstrapToken?: string;
}

export interface ControlPlane {
  apiUrl: string;
  nodeServiceAddress: string;
  caPem: string;
  adminToken: string;
  /** Resolves when a component this process depends on dies (e.g. the etcd child). */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

const namespaces = resourceForKind("v1", "Namespace")!;

/** The admin bearer token, made when the cluster is created and kept in the state dir. */
async function ensureAdminToken(pkiDir: string): Promise<string> {
  const path = join(pkiDir, "admin-token");
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    const token = randomBytes(32).toString("base64url");
    await writeFile(path, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

/** The informers RBAC decisions read. */
function rbacListers(informers: InformerFactory): RbacListers {
  const lister = <T>(kind: string) =>
    informers.informer(resourceForKind("rbac.authorization.k8s.io/v1", kind)!).lister as unknown as Lister<T>;
  return {
    roles: lister<Role>("Role"),
    clusterRoles: lister<ClusterRole>("ClusterRole"),
    roleBindings: lister<RoleBinding>("RoleBinding"),
    clusterRoleBindings: lister<ClusterRoleBinding>("ClusterRoleBinding"),
  };
}

/** The admin token, or else a bootstrap or user token known to the Secrets cache, or a ServiceAccount's. */
function authenticator(
  adminToken: string,
  secrets: Lister<Secret & KubeObject>,
  serviceAccount: (token: string) => User | undefined,
): (token: string) => User | undefined {
  const want = Buffer.from(adminToken);
  return (token) => {
    const got = Buffer.from(token);
    if (got.length === want.length && timingSafeEqual(got, want))
      return { name: "admin", groups: ["system:masters"] };
    return (
      authenticateBootstrapToken(secrets, token) ??
      authenticateUserToken(secrets, token) ??
      serviceAccount(token)
    );
  };
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  // Before anything is written: a bad pair would make every agent fence too early.
  checkNodeTimings(nodeGraceSeconds(opts), podEvictionSeconds(opts), {
    grace: "leaseDurationSeconds",
    eviction: "nodeEvictionTimeoutSeconds",
  });
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        trace("stop step failed", String(err));
      }
    }
  };
  try {
    return await start(opts, stops, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

const nodeGraceSeconds = (opts: ControlPlaneOptions) => opts.leaseDurationSeconds ?? defaultNodeGraceSeconds;
const podEvictionSeconds = (opts: ControlPlaneOptions) =>
  opts.nodeEvictionTimeoutSeconds ?? defaultPodEvictionSeconds;

async function start(
  opts: ControlPlaneOptions,
  stops: (() => Promise<void> | void)[],
  stop: () => Promise<void>,
): Promise<ControlPlane> {
  const listenHost = opts.listenHost ?? "0.0.0.0";
  const pkiDir = join(opts.stateDir, "pki");
  await mkdir(pkiDir, { recursive: true, mode: 0o700 });

  let etcdChild: SupervisedEtcd | undefined;
  let etcdAccess: EtcdAccess = {
    endpoints: opts.etcdEndpoints ?? [],
    ...(opts.etcdClientTls ? { tls: opts.etcdClientTls } : {}),
  };
  if (etcdAccess.endpoints.length === 0) {
    // Other members reach this one at the first advertised address (a loopback other than 127.0.0.1 is
    // fine: tests run several members on one host).
    const etcdHost =
      opts.advertiseAddresses?.find((a) => a !== "127.0.0.1" && a !== "localhost") ?? "127.0.0.1";
    const member = await startLocalMember(opts.stateDir, pkiDir, etcdHost, opts.etcdMember ?? {});
    etcdChild = member.etcd;
    stops.push(() => etcdChild?.stop());
    etcdAccess = member.access;
  }
  await writeEtcdAccess(opts.stateDir, etcdAccess);
  const etcd = await etcdClient(etcdAccess);
  stops.push(() => etcd.close());

  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });
  const store = new Store({ client: etcd, metrics });
  stops.push(() => store.close());
  const serviceCidr = opts.serviceCidr ?? "10.96.0.0/16";
  const registry = new Registry({ store, serviceAllocation: { serviceCidr } });
  await registry.ensureSystemNamespaces();
  await ensureNamespace(registry, nodeLeaseNamespace);

  const ca = await ensureCa(pkiDir);
  // Pods reach the API as https://kubernetes.default.svc (or the `kubernetes` Service's ClusterIP),
  // and in-cluster clients check the certificate against that name.
  const hosts = [
    "127.0.0.1",
    "localhost",
    hostname(),
    ...(opts.advertiseAddresses ?? []),
    systemServiceIPs(serviceCidr).kubernetes,
    ...inClusterApiNames,
  ];
  const serving = await ensureServingCert(pkiDir, ca, {
    commonName: "kctl-apiserver",
    hosts: [...new Set(hosts)],
  });
  const adminToken = await ensureAdminToken(pkiDir);
  // The etcd CA exists only when this control plane runs its own member.
  const etcdCa: KeyPair | undefined = etcdChild ? await ensureCa(etcdPkiDir(pkiDir), etcdCaName) : undefined;

  const informers = new InformerFactory(store);
  stops.push(() => informers.stop());
  const tunnels = new TunnelRegistry();
  // The agents' usage reports, kept in memory for the metrics API and the autoscaler.
  const usage = new UsageStore(Date.now);
  const podDispatcher = ObjectDispatcher.pods(informers.pods());
  const watchable = Object.fromEntries(
    nodeWatchableKinds.map(({ apiVersion, kind }) => [
      kind,
      ObjectDispatcher.all(
        informers.informer(resourceForKind(apiVersion, kind)!),
        kind === "Pod" ? podAsPeer : undefined,
      ),
    ]),
  );
  stops.push(() => {
    podDispatcher.close();
    for (const d of Object.values(watchable)) d.close();
  });
  const secrets = informers.informer<Secret & KubeObject>(resourceForKind("v1", "Secret")!);
  const referenced = {
    ConfigMap: ObjectDispatcher.byKey(informers.informer(resourceForKind("v1", "ConfigMap")!)),
    Secret: ObjectDispatcher.byKey(secrets),
  };
  stops.push(() => {
    referenced.ConfigMap.close();
    referenced.Secret.close();
  });
  const rbac = rbacListers(informers);
  const keyRevoked = revokedKeyCheck(secrets.lister);
  // As upstream's --authorization-mode=Node,RBAC: a node's certificate reads what its pods need.
  const nodeGraph = {
    pods: informers.pods().lister,
    claims: informers.informer<PersistentVolumeClaim & KubeObject>(
      resourceForKind("v1", "PersistentVolumeClaim")!,
    ).lister,
  };
  const authorize = unionAuthorizer(nodeAuthorizer(nodeGraph), rbacAuthorizer(rbac));
  const serviceAccounts = await wireServiceAccounts(registry, informers, pkiDir);
  informers.start();
  await reconcileDefaultRbac(registry);
  await ensureLocalPathClass(registry);
  if (opts.loadBalancerPool !== undefined) await ensureLoadBalancerPool(registry, opts.loadBalancerPool);
  await informers.waitForSync();
  if (opts.bootstrapToken) {
    const token = opts.bootstrapToken;
    await createBootstrapToken(registry, {
      token,
      ttlSeconds: 86_400,
      description: "kctl up --bootstrap-token",
    });
    // Nodes may join the moment we report ready, and the authenticator reads the Secrets cache.
    for (let i = 0; i < 100 && !authenticateBootstrapToken(secrets.lister, token); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  let nodeServiceAddress = "";
  const apiserver: ApiServer = await startApiServer({
    registry,
    host: listenHost,
    port: opts.port ?? 6443,
    tls: { cert: serving.certPem, key: serving.keyPem, clientCa: ca.certPem, keyRevoked },
    authenticate: authenticator(adminToken, secrets.lister, serviceAccounts.authenticate),
    metrics,
    extraRoutes: {
      ...accessReviewRoutes({
        authorize,
        rules: (user, groups, namespace) => rulesFor(rbac, user, groups, namespace),
      }),
      ...joinRoutes({
        ca,
        nodeServiceAddress: () => nodeServiceAddress,
        signingTokens: () => signingTokens(secrets.lister),
        nodeKey: (name) =>
          registry.get(resourceForKind("v1", "Node")!, undefined, name).then(
            (node) => recordedNodeKey(node) ?? null,
            (err: unknown) => {
              if (isApiError(err, "NotFound")) return undefined;
              throw err;
            },
          ),
        spendTokenUse: (user) => spendBootstrapTokenUse(registry, user),
        keyRevoked,
      }),
      ...controlPlaneJoinRoutes({
        ca,
        etcdCa,
        adminToken,
        serviceAccountKey: await ensureServiceAccountKey(pkiDir),
        etcdEndpoints: async () => (await etcd.cluster.memberList({})).members.flatMap((m) => m.clientURLs),
        mayJoin: (user) => mayJoinControlPlane(secrets.lister, user),
        spendTokenUse: (user) => spendBootstrapTokenUse(registry, user),
      }),
    },
    authorize,
    ...(opts.audit ? { audit: new AuditLog(opts.audit) } : {}),
    // A read etcd must answer: a quorum read, so a member cut off from its cluster fails it.
    healthChecks: { etcd: async () => void (await etcd.get("/kctl/health").string()) },
    // `npm run build` writes the dashboard beside the compiled control plane (dist/ui).
    uiDir: join(import.meta.dirname, "..", "ui"),
    anonymousRoutes: clusterInfoRoute({ ca, signingTokens: () => signingTokens(secrets.lister) }),
    subresourceHandlers: { ...podStreamHandlers(registry, tunnels), token: serviceAccounts.tokenHandler },
    upgradeHandlers: {
      exec: execWebSocketHandler(registry, tunnels),
      attach: execWebSocketHandler(registry, tunnels, "attach"),
      portforward: portForwardHandler(registry, tunnels),
    },
    aggregatedApis: [
      metricsApi({
        usage,
        pods: informers.pods().lister,
        nodes: informers.informer<Node & KubeObject>(resourceForKind("v1", "Node")!).lister,
        now: Date.now,
      }),
      autoscalingV1Api(registry),
    ],
  });
  stops.push(() => apiserver.close());

  const clusterCidr = opts.clusterCidr ?? "10.244.0.0/16";
  const nodeService: NodeServiceServer = await startNodeServiceServer({
    host: listenHost,
    port: opts.nodeServicePort ?? (opts.port === 0 ? 0 : (opts.port ?? 6443) + 1),
    caPem: ca.certPem,
    serving,
    keyRevoked,
    registry,
    allocator: new PodCidrAllocator(etcd, clusterCidr),
    pods: podDispatcher,
    related: nodeRelationship(nodeGraph),
    watchable,
    referenced,
    tunnels,
    tokens: serviceAccounts.issuer,
    usage,
    settings: {
      clusterCidr,
      serviceCidr,
      clusterDns: systemServiceIPs(serviceCidr).dns,
      clusterDomain: "cluster.local",
      leaseDurationSeconds: nodeGraceSeconds(opts),
      nodeEvictionTimeoutSeconds: podEvictionSeconds(opts),
    },
  });
  stops.push(() => nodeService.close());
  // A revocation takes effect on open connections too, not only on the next handshake.
  const closeRevoked = () => nodeService.closeRevoked();
  stops.push(secrets.addEventHandler({ onAdd: closeRevoked, onUpdate: closeRevoked }));

  const identity = `${hostname()}_${process.pid}`;
  const ttlSeconds = opts.leaderElectionTtlSeconds ?? 5;
  const electors: LeaderElector[] = [];
  const campaign = (o: LeaderElectionOptions) =>
    opts.leaderElect === false ? runUnelected(o.onStartedLeading) : runWhenLeader(o);
  stops.push(() => Promise.all(electors.map((e) => e.stop())).then(() => undefined));
  electors.push(
    campaign({
      client: etcd,
      lockName: "kube-scheduler",
      identity,
      ttlSeconds,
      onStartedLeading: async (signal) => {
        const storage = schedulerStorage(informers);
        await informers.waitForSync();
        const events = new EventRecorder({ registry, component: "default-scheduler" });
        await new Scheduler({
          backend: schedulerBackend(registry, informers, events, storage),
          filters: [...defaultFilters, volumeBindingFilter(storage)],
          registry: metrics,
        }).run(signal);
      },
    }),
  );

  electors.push(
    campaign({
      client: etcd,
      lockName: "kube-controller-manager",
      identity,
      ttlSeconds,
      onStartedLeading: (signal) =>
        runControllers(
          {
            registry,
            informers,
            metrics,
            caPem: ca.certPem,
            nodeGracePeriodSeconds: nodeGraceSeconds(opts),
            podEvictionTimeoutSeconds: podEvictionSeconds(opts),
            usage,
          },
          signal,
        ),
    }),
  );

  const advertise = opts.advertiseAddresses?.[0] ?? "127.0.0.1";
  nodeServiceAddress = `${advertise}:${nodeService.port}`;

  // Pods reach DNS and the apiserver through Services whose endpoints are this host; a loopback
  // address would not do, so those use the host's own address unless one was advertised.
  const reachable = opts.advertiseAddresses?.find((a) => !a.startsWith("127.")) ?? primaryIPv4();
  const dns = await startClusterDns({
    informers,
    address: opts.dnsAddress ?? reachable,
    port: opts.dnsPort ?? (opts.port === 0 ? 0 : 53),
    metrics,
  });
  stops.push(() => dns.close());
  await ensureSystemServices(registry, {
    serviceCidr,
    apiAddress: reachable,
    apiPort: apiserver.port,
    dnsAddress: opts.dnsAddress ?? reachable,
    dnsPort: dns.port,
  });
  // Every live control plane in these Services' Endpoints, not just the one that started last.
  for (const endpoints of [
    startControlPlaneEndpoints({
      etcd,
      registry,
      service: { namespace: "default", name: "kubernetes" },
      address: reachable,
      ports: [{ name: "https", port: apiserver.port, protocol: "TCP" }],
    }),
    startControlPlaneEndpoints({
      etcd,
      registry,
      service: { namespace: "kube-system", name: "kube-dns" },
      address: opts.dnsAddress ?? reachable,
      ports: [
        { name: "dns", port: dns.port, protocol: "UDP" },
        { name: "dns-tcp", port: dns.port, protocol: "TCP" },
      ],
    }),
  ])
    stops.push(() => endpoints.stop());
  const failed = etcdChild?.failed ?? new Promise<Error>(() => {});
  return {
    apiUrl: `https://${advertise}:${apiserver.port}`,
    nodeServiceAddress,
    caPem: ca.certPem,
    adminToken,
    failed,
    stop,
  };
}

const inClusterApiNames = [
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
];

async function ensureNamespace(registry: Registry, name: string): Promise<void> {
  try {
    await registry.create(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  } catch (err) {
    if (!isApiError(err, "AlreadyExists")) throw err;
  }
}
