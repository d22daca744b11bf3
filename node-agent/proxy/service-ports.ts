/**
 * Turns one Service and its Endpoints into the service ports the proxy programs: virtual address,
 * protocol, port, node port, LoadBalancer addresses, affinity, traffic policies and the sorted ready
 * endpoints (and which of them run on this node). Objects that cannot be
 * programmed are reported as problems naming the object and field path, never thrown, so one bad
 * Service does not stop the rules of the others.
 */
import { parseIPv4 } from "../../foundation/util/ipv4.js";
import { type EndpointsInput, type ServiceInput, serviceKey } from "./inputs.js";

export type Protocol = "tcp" | "udp";

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

export interface ServicePortModel {
  /** `namespace/name/protocol/portName`: stable across updates, names the port's chains. */
  readonly id: string;
  /** `namespace/name` of the Service. */
  readonly service: string;
  readonly protocol: Protocol;
  readonly clusterIP: string;
  readonly port: number;
  /** Set for NodePort (and LoadBalancer) Services only. */
  readonly nodePort: number | undefined;
  /** ClientIP affinity timeout in seconds; undefined without affinity. */
  readonly affinitySeconds: number | undefined;
  /** Ready endpoints, unique, sorted by address then port. */
  readonly endpoints: readonly Endpoint[];
  /** A LoadBalancer's addresses (`status.loadBalancer.ingress[].ip`), served like the NodePort. */
  readonly loadBalancerIPs?: readonly string[];
  /** `externalTrafficPolicy: Local`: NodePort and LoadBalancer traffic only to this node's endpoints, client address kept. */
  readonly externalLocal?: true;
  /** `internalTrafficPolicy: Local`: ClusterIP traffic only to this node's endpoints. */
  readonly internalLocal?: true;
  /** The endpoints on this node, when a policy above is Local. */
  readonly localEndpoints?: readonly Endpoint[];
}

export interface ServicePortsResult {
  ports: ServicePortModel[];
  /** Human-readable reasons something was left out, each naming the object and field path. */
  problems: string[];
}

/** Kubernetes' default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

const NO_RULE_TYPES = new Set(["ExternalName"]);
const NODE_PORT_TYPES = new Set(["NodePort", "LoadBalancer"]);

function isPort(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65_535;
}

function isIPv4(text: string): boolean {
  try {
    parseIPv4(text);
    return true;
  } catch {
    return false;
  }
}

function protocolOf(value: string | undefined): Protocol | undefined {
  if (value === undefined || value === "TCP") return "tcp";
  if (value === "UDP") return "udp";
  return undefined;
}

/**
 * The programmable ports of `svc` with the ready endpoints of `eps` (undefined: none yet).
 * Headless, ExternalName and not-yet-allocated Services yield no ports and no problems; a Service
 * with any invalid field yields no ports, so it is never half-programmed; an invalid endpoint entry
 * is left out alone.
 */
export function servicePorts(
  svc: ServiceInput,
  eps: EndpointsInput | undefined,
  nodeName?: string,
): ServicePortsResult {
  const key = serviceKey(svc);
  const where = `Service ${key}`;
  const spec = svc.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  const clusterIP = spec.clusterIP ?? "";
  if (NO_RULE_TYPES.has(type) || clusterIP === "None" || clusterIP === "") return { ports: [], problems: [] };

  const problems: string[] = [];
  if (type !== "ClusterIP" && !NODE_PORT_TYPES.has(type)) {
    problems.push(`${where}: spec.type: "${type}" is not supported (ClusterIP, NodePort, LoadBalancer)`);
  }
  if (!isIPv4(clusterIP)) problems.push(`${where}: spec.clusterIP: "${clusterIP}" is not an IPv4 address`);
  const affinity = spec.sessionAffinity ?? "None";
  let affinitySeconds: number | undefined;
  if (affinity === "ClientIP") {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) {
      problems.push(
        `${where}: spec.sessionAffinityConfig.clientIP.timeoutSeconds: ${timeout} is not 1..86400 seconds`,
      );
    }
    affinitySeconds = timeout;
  } else if (affinity !== "None") {
    problems.push(`${where}: spec.sessionAffinity: "${affinity}" is not None or ClientIP`);
  }

  // A bad endpoint address leaves out that address only; a bad Service field leaves out the Service.
  const endpointProblems: string[] = [];
  const wantNodePort = NODE_PORT_TYPES.has(type);
  // A LoadBalancer may go without NodePorts (allocateLoadBalancerNodePorts: false).
  const needNodePort = type === "NodePort";
  const loadBalancerIPs =
    type === "LoadBalancer"
      ? [...new Set((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ""))].filter((ip, i) => {
          if (isIPv4(ip)) return true;
          if (ip !== "")
            problems.push(`${where}: status.loadBalancer.ingress[${i}].ip: "${ip}" is not an IPv4 address`);
          return false;
        })
      : [];
  const externalLocal = wantNodePort && spec.externalTrafficPolicy === "Local";
  const internalLocal = spec.internalTrafficPolicy === "Local";
  const localIPs = externalLocal || internalLocal ? localAddresses(eps, nodeName) : undefined;
  const seen = new Map<string, string>();
  const ports: ServicePortModel[] = [];
  (spec.ports ?? []).forEach((p, i) => {
    const path = `${where}: spec.ports[${i}]`;
    const protocol = protocolOf(p.protocol);
    if (protocol === undefined) {
      problems.push(`${path}.protocol: "${p.protocol}" is not supported (TCP or UDP)`);
      return;
    }
    if (!isPort(p.port)) {
      problems.push(`${path}.port: ${p.port} is not a port (1-65535)`);
      return;
    }
    if ((needNodePort || p.nodePort !== undefined) && wantNodePort && !isPort(p.nodePort)) {
      problems.push(`${path}.nodePort: ${p.nodePort} is not a port (1-65535)`);
      return;
    }
    const name = p.name ?? "";
    const clash = seen.get(`${protocol}/${p.port}`) ?? seen.get(`name/${name}`);
    if (clash !== undefined) {
      problems.push(`${path}: port ${p.port}/${protocol} or name "${name}" repeats ${clash}`);
      return;
    }
    seen.set(`${protocol}/${p.port}`, `spec.ports[${i}]`);
    seen.set(`name/${name}`, `spec.ports[${i}]`);
    const endpoints = readyEndpoints(eps, name, protocol, endpointProblems);
    ports.push({
      id: `${key}/${protocol}/${name}`,
      service: key,
      protocol,
      clusterIP,
      port: p.port,
      nodePort: wantNodePort ? p.nodePort : undefined,
      affinitySeconds,
      endpoints,
      ...(loadBalancerIPs.length > 0 ? { loadBalancerIPs } : {}),
      ...(externalLocal ? { externalLocal: true as const } : {}),
      ...(internalLocal ? { internalLocal: true as const } : {}),
      ...(localIPs ? { localEndpoints: endpoints.filter((e) => localIPs.has(e.ip)) } : {}),
    });
  });
  if (problems.length > 0) return { ports: [], problems: [...problems, ...endpointProblems] };
  return { ports, problems: endpointProblems };
}

/** The ready addresses of `eps` on node `nodeName` (none when the node is unknown). */
export function localAddresses(eps: EndpointsInput | undefined, nodeName: string | undefined): Set<string> {
  const ips = new Set<string>();
  if (nodeName === undefined) return ips;
  for (const subset of eps?.subsets ?? []) {
    for (const a of subset.addresses ?? []) if (a.nodeName === nodeName && a.ip) ips.add(a.ip);
  }
  return ips;
}

/** The ready addresses of `eps` for the port named `name`; bad entries become problems. */
function readyEndpoints(
  eps: EndpointsInput | undefined,
  name: string,
  protocol: Protocol,
  problems: string[],
): Endpoint[] {
  if (eps === undefined) return [];
  const where = `Endpoints ${serviceKey(eps)}`;
  const found = new Map<string, Endpoint>();
  (eps.subsets ?? []).forEach((subset, s) => {
    const portIndex = (subset.ports ?? []).findIndex(
      (p) => (p.name ?? "") === name && protocolOf(p.protocol) === protocol,
    );
    if (portIndex < 0) return;
    const port = subset.ports![portIndex]!.port;
    if (!isPort(port)) {
      problems.push(`${where}: subsets[${s}].ports[${portIndex}].port: ${port} is not a port (1-65535)`);
      return;
    }
    (subset.addresses ?? []).forEach((a, i) => {
      const ip = a.ip ?? "";
      if (!isIPv4(ip)) {
        problems.push(`${where}: subsets[${s}].addresses[${i}].ip: "${ip}" is not an IPv4 address`);
        return;
      }
      found.set(`${ip}:${port}`, { ip, port });
    });
  });
  return [...found.values()].sort((a, b) => parseIPv4(a.ip) - parseIPv4(b.ip) || a.port - b.port);
}
