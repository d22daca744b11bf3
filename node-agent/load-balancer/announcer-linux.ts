/**
 * Announces this node's LoadBalancer addresses on its network (MetalLB's L2 mode): the elected
 * addresses (election.ts) are added to the interface holding the node's own address, as /32s
 * labelled `<dev>:lb` where the name fits, so the kernel answers ARP for them like for any
 * address of the host, and a gratuitous ARP (`arping -U`, one process per address taken over, never
 * per packet) tells the segment's neighbours at once where the address went. Packets to them are
 * then DNATed by the proxy's nftables rules, which accept LoadBalancer addresses on every host.
 *
 * Why the address on the interface rather than a raw-socket ARP responder: the kernel does ARP,
 * local delivery and replies already, it survives an agent restart without a gap, and what the
 * host announces is visible with `ip addr`. The cost: an agent killed without `stop()` leaves its
 * addresses until it runs again (a stopped agent removes them, see `stop`).
 *
 * Level-triggered: every reconcile reads `ip addr` and makes the interface hold exactly the elected
 * addresses among those it owns (labelled, or any LoadBalancer address of a known Service).
 */
import { tracer } from "../../foundation/util/trace.js";
import { inNetns, mustRunTool, runTool } from "../network/commands-linux.js";
import type { EndpointsInput, ServiceInput } from "../proxy/inputs.js";
import { serviceKey } from "../proxy/inputs.js";
import { CoalescingRunner } from "../util/coalescing-runner.js";
import { addressesToAnnounce, type NodeInput } from "./election.js";

const trace = tracer("load-balancer");

export interface AnnouncerConfig {
  nodeName: string;
  /** The node's own address: the interface holding it is where the addresses go. */
  hostIP: string;
  /** Network namespace file to program; undefined: this process's. */
  netns?: string;
  /** Delay before retrying a failed reconcile; default 1000 ms. */
  retryDelayMs?: number;
  /** Period of the reconcile that repairs drift (someone deleting an address); default 30 s. */
  resyncIntervalMs?: number;
  /** Told of a failed background reconcile; default: traced. */
  onError?: (err: Error) => void;
}

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; label?: string }[];
}

export class LoadBalancerAnnouncer {
  private readonly services = new Map<string, ServiceInput>();
  private readonly endpoints = new Map<string, EndpointsInput>();
  private readonly nodes = new Map<string, NodeInput>();
  private readonly runner: CoalescingRunner<void>;
  private announced = new Set<string>();

  constructor(private readonly config: AnnouncerConfig) {
    this.runner = new CoalescingRunner(() => this.reconcile(), {
      retryDelayMs: config.retryDelayMs ?? 1000,
      resyncIntervalMs: config.resyncIntervalMs ?? 30_000,
    });
  }

  setService(svc: ServiceInput): void {
    this.services.set(serviceKey(svc), svc);
    this.changed();
  }
  deleteService(svc: ServiceInput): void {
    this.services.delete(serviceKey(svc));
    this.changed();
  }
  setEndpoints(eps: EndpointsInput): void {
    this.endpoints.set(serviceKey(eps), eps);
    this.changed();
  }
  deleteEndpoints(eps: EndpointsInput): void {
    this.endpoints.delete(serviceKey(eps));
    this.changed();
  }
  setNode(node: NodeInput): void {
    this.nodes.set(node.metadata.name ?? "", node);
    this.changed();
  }
  deleteNode(node: NodeInput): void {
    this.nodes.delete(node.metadata.name ?? "");
    this.changed();
  }

  /** The addresses this node announced at its last reconcile. */
  addresses(): ReadonlySet<string> {
    return this.announced;
  }

  /**
   * Starts reconciling. Never rejects: a host where announcing fails (no such interface yet, `ip`
   * refusing) must still run pods and Services, so a failed first reconcile is reported through
   * `onError` and retried in the background.
   */
  async start(): Promise<void> {
    this.runner.start();
    await this.runner.runNow().catch((err: unknown) => this.onError(err as Error));
  }

  /**
   * Stops and withdraws every address, so a stopped agent's host does not keep answering ARP for
   * addresses another node takes over once this one is NotReady.
   */
  async stop(): Promise<void> {
    await this.runner.stop();
    const dev = await this.device();
    for (const ip of await this.owned(dev)) await this.del(dev.name, ip);
    this.announced = new Set();
  }

  private onError(err: Error): void {
    (this.config.onError ?? ((e: Error) => trace("reconcile failed", e.message)))(err);
  }

  private changed(): void {
    this.runner.schedule(0);
  }

  private async reconcile(): Promise<void> {
    const want = addressesToAnnounce(
      this.config.nodeName,
      this.services.values(),
      this.endpoints,
      this.nodes.values(),
    );
    const dev = await this.device();
    const have = await this.owned(dev);
    for (const ip of have) if (!want.has(ip)) await this.del(dev.name, ip);
    for (const [ip, key] of want) {
      if (have.has(ip)) continue;
      const label = dev.name.length <= 12 ? ["label", `${dev.name}:lb`] : [];
      await mustRunTool([...this.ns(), "ip", "-4", "addr", "add", `${ip}/32`, "dev", dev.name, ...label]);
      trace("announcing", ip, "for", key, "on", dev.name);
      // Neighbours that cached another host's MAC for the address learn the new one now rather
      // than when their entry goes stale. Best effort: ARP requests find the address anyway.
      await runTool([...this.ns(), "arping", "-U", "-c", "2", "-w", "3", "-I", dev.name, ip]).then(
        (garp) => garp.code === 0 || trace("gratuitous ARP failed", ip, garp.stderr.trim()),
        (err: unknown) => trace("gratuitous ARP failed", ip, String(err)),
      );
    }
    this.announced = new Set(want.keys());
  }

  private async del(dev: string, ip: string): Promise<void> {
    const res = await runTool([...this.ns(), "ip", "-4", "addr", "del", `${ip}/32`, "dev", dev]);
    if (res.code === 0) trace("withdrew", ip, "from", dev);
  }

  /** The interface holding the node's address, with its IPv4 addresses. */
  private async device(): Promise<{ name: string; addrs: NonNullable<IpAddrInfo["addr_info"]> }> {
    const links = JSON.parse(
      await mustRunTool([...this.ns(), "ip", "-j", "-4", "addr", "show"]),
    ) as IpAddrInfo[];
    for (const link of links) {
      const addrs = link.addr_info ?? [];
      if (addrs.some((a) => a.local === this.config.hostIP)) return { name: link.ifname, addrs };
    }
    throw new Error(`load balancer announcer: no interface holds the node address ${this.config.hostIP}`);
  }

  /** The /32s on `dev` that are ours: labelled so, or a known LoadBalancer address. */
  private async owned(dev: {
    name: string;
    addrs: NonNullable<IpAddrInfo["addr_info"]>;
  }): Promise<Set<string>> {
    const known = new Set<string>();
    for (const svc of this.services.values()) {
      for (const i of svc.status?.loadBalancer?.ingress ?? []) if (i.ip) known.add(i.ip);
    }
    const owned = new Set<string>();
    for (const a of dev.addrs) {
      if (a.prefixlen !== 32 || a.local === this.config.hostIP) continue;
      if (a.label === `${dev.name}:lb` || known.has(a.local)) owned.add(a.local);
    }
    return owned;
  }

  private ns(): string[] {
    return inNetns(this.config.netns);
  }
}
