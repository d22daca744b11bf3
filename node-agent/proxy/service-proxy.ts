/**
 * The service proxy of one node: keeps the node's nftables table in step with the Services and
 * Endpoints the agent follows. Changes are coalesced and applied per Service as one atomic partial
 * transaction; the first sync, any sync after an error and a periodic one rebuild the whole table
 * in one transaction, so the kernel never holds a half-programmed service. Packets never pass
 * through this process: it only writes rules.
 *
 * Lifecycle: construct (config checked), feed objects with set/delete (before or after start),
 * `start()` (first full sync), `stop()` (rules stay, so services keep working across an agent
 * restart), `uninstall()` (stop and remove the table).
 */
import { performance } from "node:perf_hooks";
import type { Registry } from "prom-client";
import { CidrError, parseCidr } from "../../foundation/util/ipv4.js";
import { tracer } from "../../foundation/util/trace.js";
import { CoalescingRunner } from "../util/coalescing-runner.js";
import { deleteStaleFlows, type StaleFlow } from "./conntrack-linux.js";
import { ProxyError } from "./errors.js";
import { type EndpointsInput, type ServiceInput, serviceKey } from "./inputs.js";
import { Nft } from "./nft-linux.js";
import { type ProxyMetrics, proxyMetrics } from "./proxy-metrics.js";
import { countRules, type RenderedPort, type RulesetConfig, renderBase, renderPort } from "./ruleset.js";
import { type ServicePortModel, servicePorts } from "./service-ports.js";
import { fullTransaction, partialTransaction, uninstallTransaction } from "./transaction.js";

const trace = tracer("proxy");

export interface ServiceProxyConfig {
  /** Network namespace file to program; undefined: the namespace this process runs in. */
  netns?: string;
  /** Name of the `ip` table the proxy owns; default `kctl`. */
  table?: string;
  /** Pod CIDR of the whole cluster (e.g. 10.244.0.0/16); enables masquerading of off-cluster clients and pod egress. */
  clusterCIDR?: string;
  /** CIDRs whose addresses accept NodePorts; default every local address but 127.0.0.0/8. */
  nodePortAddresses?: readonly string[];
  /** Registry for the proxy's metrics; none: not exported. */
  registry?: Registry;
  /** Changes arriving within this window share one transaction; default 0 (same tick). */
  minSyncIntervalMs?: number;
  /** Period of the full rebuild that repairs drift; default one hour, 0 disables it. */
  fullResyncIntervalMs?: number;
  /** Delay before the full resync that follows a failed sync; default 1000 ms. */
  retryDelayMs?: number;
  /** This node's name: its endpoints are the local ones of the Local traffic policies. */
  nodeName?: string;
  /** Told when an object is (partly) left out of the rules, with the reasons; default: traced. */
  onProblem?: (key: string, problems: readonly string[]) => void;
  /** Told of a failed background sync; default: traced. */
  onError?: (err: Error) => void;
}

export interface SyncReport {
  kind: "full" | "partial";
  /** The nft script applied; empty when nothing changed. */
  script: string;
  seconds: number;
}

interface AppliedService {
  readonly ports: readonly ServicePortModel[];
  readonly rendered: readonly RenderedPort[];
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** The `ip` table the proxy programs unless told another. */
export const DEFAULT_PROXY_TABLE = "kctl";

function checkedCidr(key: string, value: string): string {
  try {
    parseCidr(value);
    return value;
  } catch (err) {
    if (err instanceof CidrError)
      throw new ProxyError("Invalid", `service proxy config ${key}: ${err.message}`);
    throw err;
  }
}

function checkedDuration(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new ProxyError("Invalid", `service proxy config ${key}: ${value} is not a duration in ms (>= 0)`);
  }
  return value;
}

export class ServiceProxy {
  readonly table: string;
  private readonly nft: Nft;
  private readonly netns: string | undefined;
  private readonly ruleset: RulesetConfig;
  private readonly baseLines: readonly string[];
  private readonly metrics: ProxyMetrics | undefined;
  private readonly minSyncIntervalMs: number;
  private readonly onProblem: (key: string, problems: readonly string[]) => void;
  private readonly onError: (err: Error) => void;
  private readonly nodeName: string | undefined;

  private readonly services = new Map<string, ServiceInput>();
  private readonly endpoints = new Map<string, EndpointsInput>();
  private readonly dirty = new Set<string>();
  private applied = new Map<string, AppliedService>();
  /** `map|key` of every programmed map element → the Service owning it (first come wins on a clash). */
  private owners = new Map<string, string>();
  private readonly problems = new Map<string, string>();
  private needFull = true;
  private readonly runner: CoalescingRunner<SyncReport>;
  private last: SyncReport | undefined;

  constructor(config: ServiceProxyConfig = {}) {
    this.table = config.table ?? DEFAULT_PROXY_TABLE;
    if (!TABLE_NAME.test(this.table)) {
      throw new ProxyError("Invalid", `service proxy config table: "${this.table}" is not an nft table name`);
    }
    const clusterCIDR =
      config.clusterCIDR === undefined ? undefined : checkedCidr("clusterCIDR", config.clusterCIDR);
    const nodePortAddresses = config.nodePortAddresses?.map((c, i) =>
      checkedCidr(`nodePortAddresses[${i}]`, c),
    );
    if (nodePortAddresses?.length === 0) {
      throw new ProxyError(
        "Invalid",
        "service proxy config nodePortAddresses: empty (leave it out for every address)",
      );
    }
    this.minSyncIntervalMs = checkedDuration("minSyncIntervalMs", config.minSyncIntervalMs, 0);
    const fullResyncIntervalMs = checkedDuration(
      "fullResyncIntervalMs",
      config.fullResyncIntervalMs,
      3_600_000,
    );
    const retryDelayMs = checkedDuration("retryDelayMs", config.retryDelayMs, 1000);
    this.netns = config.netns;
    this.nodeName = config.nodeName;
    this.nft = new Nft(config.netns);
    this.ruleset = { table: this.table, clusterCIDR, nodePortAddresses };
    this.baseLines = renderBase(this.ruleset);
    this.metrics = config.registry ? proxyMetrics(config.registry) : undefined;
    this.onProblem = config.onProblem ?? ((key, problems) => trace("left out of the rules", key, problems));
    this.onError = config.onError ?? ((err) => trace("sync failed", err.message));
    this.runner = new CoalescingRunner(() => this.sync(), {
      retryDelayMs,
      resyncIntervalMs: fullResyncIntervalMs,
      onResync: () => {
        this.needFull = true;
      },
    });
  }

  setService(svc: ServiceInput): void {
    this.services.set(serviceKey(svc), svc);
    this.changed(serviceKey(svc));
  }

  deleteService(svc: ServiceInput): void {
    this.services.delete(serviceKey(svc));
    this.changed(serviceKey(svc));
  }

  setEndpoints(eps: EndpointsInput): void {
    this.endpoints.set(serviceKey(eps), eps);
    this.changed(serviceKey(eps));
  }

  deleteEndpoints(eps: EndpointsInput): void {
    this.endpoints.delete(serviceKey(eps));
    this.changed(serviceKey(eps));
  }

  /**
   * Rebuilds the table from what has been fed so far and starts applying changes. Rejects when
   * that first sync fails; a full resync is retried in the background either way.
   */
  async start(): Promise<void> {
    if (this.runner.isStopped) throw new ProxyError("Invalid", "service proxy was stopped; make a new one");
    this.needFull = true;
    this.runner.start();
    await this.syncNow();
  }

  /** Stops syncing; the table stays as it is. */
  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Stops syncing and removes the table (idempotent; fine when it never existed). */
  async uninstall(): Promise<void> {
    await this.stop();
    await this.nft.apply(uninstallTransaction(this.table));
    this.applied = new Map();
    this.owners = new Map();
  }

  /**
   * Applies every change fed so far (waiting for a sync in flight first) and reports what it did.
   * Rejects when the transaction fails; the next sync is then a full one.
   */
  syncNow(): Promise<SyncReport> {
    return this.runner.runNow();
  }

  /** The last sync that was applied. */
  lastSync(): SyncReport | undefined {
    return this.last;
  }

  private changed(key: string): void {
    this.dirty.add(key);
    this.runner.schedule(this.minSyncIntervalMs);
  }

  private async sync(): Promise<SyncReport> {
    const kind = this.needFull ? "full" : "partial";
    const t0 = performance.now();
    const keys =
      kind === "full" ? new Set([...this.services.keys(), ...this.applied.keys()]) : new Set(this.dirty);
    this.dirty.clear();
    try {
      const report = kind === "full" ? await this.syncFull(t0) : await this.syncPartial(keys, t0);
      this.last = report;
      this.metrics?.syncSeconds.observe({ kind }, report.seconds);
      trace(`${kind} sync`, {
        services: keys.size,
        lines: report.script.split("\n").length - 1,
        s: report.seconds,
      });
      return report;
    } catch (err) {
      for (const k of keys) this.dirty.add(k);
      this.needFull = true;
      this.metrics?.syncErrors.inc({ kind });
      const error = err instanceof Error ? err : new Error(String(err));
      this.onError(error);
      throw error;
    }
  }

  private async syncFull(t0: number): Promise<SyncReport> {
    const owners = new Map<string, string>();
    const next = new Map<string, AppliedService>();
    for (const key of [...this.services.keys()].sort()) next.set(key, this.build(key, owners));
    const script = fullTransaction(
      this.table,
      this.baseLines,
      [...next.values()].flatMap((a) => a.rendered),
    );
    await this.nft.apply(script);
    const before = this.applied;
    this.applied = next;
    this.owners = owners;
    this.needFull = false;
    await this.afterApply([...new Set([...before.keys(), ...next.keys()])], before);
    return { kind: "full", script, seconds: (performance.now() - t0) / 1000 };
  }

  private async syncPartial(keys: Set<string>, t0: number): Promise<SyncReport> {
    const owners = new Map(this.owners);
    for (const [id, owner] of owners) if (keys.has(owner)) owners.delete(id);
    const next = new Map<string, AppliedService>();
    for (const key of [...keys].sort()) next.set(key, this.build(key, owners));
    const script = partialTransaction(
      this.table,
      [...keys].flatMap((k) => this.applied.get(k)?.rendered ?? []),
      [...next.values()].flatMap((a) => a.rendered),
    );
    if (script !== "") await this.nft.apply(script);
    const before = new Map(this.applied);
    for (const [key, a] of next) {
      if (a.ports.length === 0) this.applied.delete(key);
      else this.applied.set(key, a);
    }
    this.owners = owners;
    await this.afterApply([...keys], before);
    return { kind: "partial", script, seconds: (performance.now() - t0) / 1000 };
  }

  /** Renders the Service `key` from the fed objects, claiming its map elements in `owners`. */
  private build(key: string, owners: Map<string, string>): AppliedService {
    const svc = this.services.get(key);
    const result = svc
      ? servicePorts(svc, this.endpoints.get(key), this.nodeName)
      : { ports: [], problems: [] };
    const rendered = result.ports.map((p) => {
      const r = renderPort(p, this.ruleset);
      const elements = r.elements.filter((e) => {
        const id = `${e.map}|${e.key}`;
        const owner = owners.get(id);
        if (owner !== undefined && owner !== key) {
          result.problems.push(`Service ${key}: ${e.key} (${e.map}) is already served by Service ${owner}`);
          return false;
        }
        owners.set(id, key);
        return true;
      });
      return { ...r, elements };
    });
    this.noteProblems(key, result.problems);
    return { ports: result.ports, rendered };
  }

  private noteProblems(key: string, problems: readonly string[]): void {
    const text = problems.join("\n");
    if ((this.problems.get(key) ?? "") === text) return;
    if (text === "") this.problems.delete(key);
    else this.problems.set(key, text);
    this.metrics?.invalidObjects.set(this.problems.size);
    if (text !== "") this.onProblem(key, problems);
  }

  /** Updates the gauges and deletes the conntrack entries of UDP flows to endpoints that left. */
  private async afterApply(
    keys: readonly string[],
    before: ReadonlyMap<string, AppliedService>,
  ): Promise<void> {
    if (this.metrics) {
      let rules = this.baseLines.filter((l) => l.startsWith("add rule")).length;
      let ports = 0;
      for (const a of this.applied.values()) {
        ports += a.ports.length;
        for (const r of a.rendered) rules += countRules(r);
      }
      this.metrics.rules.set(rules);
      this.metrics.servicePorts.set(ports);
    }
    const stale = keys.flatMap((k) =>
      staleUdpFlows(before.get(k)?.ports ?? [], this.applied.get(k)?.ports ?? []),
    );
    if (stale.length === 0) return;
    trace("deleting conntrack entries", stale);
    // A failure here leaves the rules right; it is reported, not retried by a full resync.
    await deleteStaleFlows(this.netns, stale).catch((err: Error) => {
      this.metrics?.syncErrors.inc({ kind: "conntrack" });
      this.onError(err);
    });
  }
}

/** UDP flows (by ClusterIP and by NodePort) that reached an endpoint in `before` but not in `after`. */
export function staleUdpFlows(
  before: readonly ServicePortModel[],
  after: readonly ServicePortModel[],
): StaleFlow[] {
  const flows = (ports: readonly ServicePortModel[]) => {
    const out = new Map<string, StaleFlow>();
    for (const p of ports) {
      if (p.protocol !== "udp") continue;
      for (const ep of p.endpoints) {
        const byIP = { origDst: p.clusterIP, origPort: p.port, endpointIP: ep.ip, endpointPort: ep.port };
        out.set(JSON.stringify(byIP), byIP);
        if (p.nodePort !== undefined) {
          const byNodePort = {
            origDst: undefined,
            origPort: p.nodePort,
            endpointIP: ep.ip,
            endpointPort: ep.port,
          };
          out.set(JSON.stringify(byNodePort), byNodePort);
        }
      }
    }
    return out;
  };
  const now = flows(after);
  return [...flows(before)].filter(([id]) => !now.has(id)).map(([, f]) => f);
}
