/**
 * Keeps this node's routes to the other nodes' pods in the kernel: one route per other node's
 * podCIDR, via its InternalIP when that is on one of this host's links (host-gw), else through the
 * VXLAN device (made when the first off-link peer appears, with the peer's neighbour and forwarding
 * entries). Routes are marked with the project's own route protocol number so only those are ever
 * read, replaced or deleted. Changes are coalesced and reconciled against the kernel
 * (level-triggered: whatever was there, owned routes and overlay entries end up exactly as the
 * nodes say, and a reconcile with nothing to change runs nothing); a failed reconcile is retried,
 * a change of the host's links (one set down loses its routes) triggers one, and a periodic one
 * repairs drift. Also turns IP forwarding on.
 *
 * Lifecycle: construct, feed Nodes with set/delete, `start()`, `stop()` (routes stay, so pods keep
 * talking across an agent restart), `uninstall()` (stop, delete every owned route and the device).
 */
import { writeFile } from "node:fs/promises";
import { tracer } from "../../foundation/util/trace.js";
import { inNetns, runTool } from "../network/commands-linux.js";
import { CoalescingRunner } from "../util/coalescing-runner.js";
import { RouteError } from "./errors.js";
import { type HostLinks, readFdb, readHostLinks, readNeighbours } from "./host-links-linux.js";
import { LinkWatch } from "./link-watch-linux.js";
import { type NodeInput, planRoutes, type RoutePlan, routeChanges } from "./route-plan.js";
import {
  deviceChanges,
  fdbChanges,
  neighbourChanges,
  overlayMtu,
  VXLAN_DEVICE,
  vtepAddress,
  vtepMac,
} from "./vxlan-plan.js";

const trace = tracer("routes");

/** Route protocol number marking the project's routes (`ip route ... proto 199`). */
export const ROUTE_PROTO = 199;

export interface HostRoutesConfig {
  /** This node's name: its own podCIDR gets no route. */
  nodeName: string;
  /** Network namespace file to program; undefined: the namespace this process runs in. */
  netns?: string;
  /** The pod network's bridge, whose changes (one per pod start and stop) need no reconcile. */
  podBridge?: string;
  /** Route protocol number marking owned routes; default 199. */
  proto?: number;
  /** Delay before retrying a failed reconcile; default 1000 ms. */
  retryDelayMs?: number;
  /** Period of the reconcile that repairs drift; default 60 s, 0 disables it. */
  resyncIntervalMs?: number;
  /** Told when a Node cannot be routed to, with the reasons; default: traced. */
  onProblem?: (problems: readonly string[]) => void;
  /** Told of a failed background reconcile; default: traced. */
  onError?: (err: Error) => void;
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

export class HostRoutes {
  private readonly nodes = new Map<string, NodeInput>();
  private readonly proto: number;
  private readonly runner: CoalescingRunner<string[]>;
  private readonly links: LinkWatch;
  private forwarding = false;
  private lastProblems = "";

  constructor(private readonly config: HostRoutesConfig) {
    if (!config.nodeName) throw new RouteError("Invalid", "host routes config nodeName: empty");
    this.proto = config.proto ?? ROUTE_PROTO;
    if (!Number.isInteger(this.proto) || this.proto < 5 || this.proto > 255) {
      // 0-4 are the kernel's own (unspec, redirect, kernel, boot, static).
      throw new RouteError(
        "Invalid",
        `host routes config proto: ${this.proto} is not a route protocol number 5..255`,
      );
    }
    const retryDelayMs = config.retryDelayMs ?? 1000;
    const resyncIntervalMs = config.resyncIntervalMs ?? 60_000;
    for (const [key, v] of [
      ["retryDelayMs", retryDelayMs],
      ["resyncIntervalMs", resyncIntervalMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0)
        throw new RouteError("Invalid", `host routes config ${key}: ${v} is not a duration in ms (>= 0)`);
    }
    this.runner = new CoalescingRunner(() => this.reconcile(), { retryDelayMs, resyncIntervalMs });
    this.links = new LinkWatch(config.netns, this.proto, () => this.runner.schedule(0), config.podBridge);
  }

  setNode(node: NodeInput): void {
    this.nodes.set(node.metadata.name ?? "", node);
    this.runner.schedule(0);
  }

  deleteNode(node: NodeInput): void {
    this.nodes.delete(node.metadata.name ?? "");
    this.runner.schedule(0);
  }

  /** Turns IP forwarding on and reconciles once; rejects if that fails (retried in the background). */
  async start(): Promise<void> {
    if (this.runner.isStopped)
      throw new RouteError("Invalid", "host routes were stopped; make a new instance");
    this.runner.start();
    this.links.start();
    await this.reconcileNow();
  }

  async stop(): Promise<void> {
    this.links.stop();
    await this.runner.stop();
  }

  /** Stops and deletes every route carrying the project's protocol number, and the VXLAN device. */
  async uninstall(): Promise<void> {
    await this.stop();
    await this.apply("ip", routeChanges(await this.ownedRoutes(), new Map(), this.proto));
    if ((await readHostLinks(this.config.netns)).device) await this.apply("ip", [`link del ${VXLAN_DEVICE}`]);
  }

  /**
   * Brings the owned routes and the overlay in line with the nodes fed so far (after any reconcile
   * in flight) and returns the `ip` and `bridge` lines it ran. Rejects on failure; a retry is
   * scheduled.
   */
  reconcileNow(): Promise<string[]> {
    return this.runner.runNow();
  }

  private async reconcile(): Promise<string[]> {
    try {
      if (!this.forwarding) {
        await this.enableForwarding();
        this.forwarding = true;
      }
      const links = await readHostLinks(this.config.netns);
      const plan = planRoutes(this.nodes.values(), this.config.nodeName, links.onLink);
      const overlay = await this.syncOverlay(plan, links);
      const text = plan.problems.join("\n");
      if (text !== this.lastProblems && text !== "") {
        (this.config.onProblem ?? ((p) => trace("nodes left without routes", p)))(plan.problems);
      }
      this.lastProblems = text;
      const routeLines = routeChanges(await this.ownedRoutes(), plan.routes, this.proto);
      // Neighbours before the routes that resolve through them.
      await this.apply("ip", [...overlay.neighbours, ...routeLines]);
      const lines = [...overlay.device, ...overlay.fdb, ...overlay.neighbours, ...routeLines];
      if (lines.length > 0) trace("routes changed", lines);
      return lines;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      (this.config.onError ?? ((e) => trace("reconcile failed", e.message)))(error);
      throw error;
    }
  }

  /**
   * Makes the VXLAN device (if a peer needs it) and its forwarding entries match the plan, and
   * returns the lines run plus the neighbour lines still to run (with the routes). Without an
   * underlay for this node's InternalIP the overlay routes are dropped from the plan, as a problem.
   * With no overlay peer left the entries go but the device stays, for the next one.
   */
  private async syncOverlay(
    plan: RoutePlan,
    links: HostLinks,
  ): Promise<{ device: string[]; fdb: string[]; neighbours: string[] }> {
    const netns = this.config.netns;
    const none = { device: [], fdb: [], neighbours: [] };
    if (plan.overlayPeers.length === 0 || !plan.self) {
      if (!links.device) return none;
      const fdb = fdbChanges(await readFdb(netns), []);
      await this.apply("bridge", fdb);
      return { device: [], fdb, neighbours: neighbourChanges(await readNeighbours(netns), []) };
    }
    const { underlayIP, podCIDR } = plan.self;
    const mtu = links.mtuOf(underlayIP);
    if (mtu === undefined) {
      plan.problems.push(
        `Node ${this.config.nodeName}: status.addresses: InternalIP ${underlayIP} is on no link of this host, so the overlay has no underlay`,
      );
      for (const [dst, via] of plan.routes) if (via.includes(VXLAN_DEVICE)) plan.routes.delete(dst);
      return none;
    }
    const device = deviceChanges(links.device, {
      local: underlayIP,
      mac: vtepMac(podCIDR),
      mtu: overlayMtu(mtu),
      address: `${vtepAddress(podCIDR)}/32`,
    });
    await this.apply("ip", device);
    // A device made just now has no entries yet.
    const fresh = device.some((l) => l.startsWith("link add"));
    const fdb = fdbChanges(fresh ? new Map() : await readFdb(netns), plan.overlayPeers);
    await this.apply("bridge", fdb);
    const neighbours = neighbourChanges(fresh ? new Map() : await readNeighbours(netns), plan.overlayPeers);
    return { device, fdb, neighbours };
  }

  /** The routes in the main table carrying the project's protocol number: destination → `via ...`. */
  private async ownedRoutes(): Promise<Map<string, string>> {
    const argv = [
      ...inNetns(this.config.netns),
      "ip",
      "-j",
      "-4",
      "route",
      "show",
      "proto",
      String(this.proto),
    ];
    const res = await runTool(argv);
    if (res.code !== 0) throw new RouteError("CommandFailed", `${argv.join(" ")}: ${res.stderr.trim()}`);
    const routes = JSON.parse(res.stdout || "[]") as IpRoute[];
    return new Map(
      routes.map((r) => [
        r.dst.includes("/") ? r.dst : `${r.dst}/32`,
        r.dev === VXLAN_DEVICE
          ? `via ${r.gateway ?? ""} dev ${VXLAN_DEVICE} onlink`
          : `via ${r.gateway ?? ""}`,
      ]),
    );
  }

  /**
   * Runs the lines through `tool -force -batch -`, so one unreachable gateway does not keep the
   * other nodes' routes out; any failure is then reported with the tool's complaints.
   */
  private async apply(tool: "ip" | "bridge", lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const argv = [...inNetns(this.config.netns), tool, "-force", "-batch", "-"];
    const res = await runTool(argv, `${lines.join("\n")}\n`);
    if (res.code !== 0) {
      throw new RouteError(
        "CommandFailed",
        `${argv.join(" ")}: ${res.stderr.trim() || `exit code ${res.code}`} (input:\n${lines.join("\n")})`,
      );
    }
  }

  private async enableForwarding(): Promise<void> {
    if (this.config.netns === undefined) {
      await writeFile("/proc/sys/net/ipv4/ip_forward", "1\n").catch((err: Error) => {
        throw new RouteError("CommandFailed", `enable IP forwarding: ${err.message}`, { cause: err });
      });
      return;
    }
    const argv = [...inNetns(this.config.netns), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"];
    const res = await runTool(argv);
    if (res.code !== 0) throw new RouteError("CommandFailed", `${argv.join(" ")}: ${res.stderr.trim()}`);
  }
}
