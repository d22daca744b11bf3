/**
 * Service ClusterIP and NodePort allocation, on the registry's write path so every client (HTTP or
 * in-process) gets it. Owns the allocation keys in etcd and the rules for filling, keeping and
 * releasing `spec.clusterIP(s)` and `spec.ports[].nodePort`.
 *
 * Every allocated value is one etcd key, created with a create-if-absent transaction through the
 * store: `/registry/serviceipallocations/10.96.0.7`, `/registry/servicenodeportallocations/30080`.
 * Two writers (two control planes) can never both create the same key, so a value is never given
 * twice. The key's `metadata.uid` is the owning Service's uid, which makes a release a
 * uid-preconditioned delete: it can never free a value someone else has taken since.
 *
 * The store writes one key per transaction, so a value is claimed just before its Service is written
 * and released if that write fails (as Kubernetes does with its bitmap). A crash between the two
 * leaves a key without its Service; `repair()` frees such keys once they are older than a grace
 * period, and re-creates keys for values that Services hold without one (e.g. restored data).
 */

import { ApiError, type FieldCause, invalid, isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { type ResourceInfo, resourceForPlural } from "../../foundation/api/resources.js";
import { nodePortRange as validNodePorts } from "../../foundation/api/validation/service.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import {
  cidrContains,
  cidrSize,
  formatCidr,
  formatIPv4,
  parseCidr,
  parseIPv4,
} from "../../foundation/util/ipv4.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Service, ServicePort } from "../../proto/gen/api.js";
import type { Store } from "../store/store.js";

export const defaultServiceCidr = "10.96.0.0/16";
export const defaultNodePortRange: readonly [number, number] = [validNodePorts[0], validNodePorts[1]];

export interface ServiceAllocationOptions {
  /** Where ClusterIPs come from; default 10.96.0.0/16. The network and broadcast addresses are never used. */
  serviceCidr?: string;
  /** Inclusive NodePort range; default 30000-32767, and it must lie inside that (the validated range). */
  nodePortRange?: readonly [number, number];
  /**
   * ClusterIPs that automatic allocation never picks, kept for Services that ask for them by name:
   * default the range's 1st address (the `kubernetes` Service) and 10th (cluster DNS), 10.96.0.1 and
   * 10.96.0.10 in the default range. Pass the DNS Service's IP here if it is another one.
   */
  reservedClusterIPs?: readonly string[];
  /** How long a key may exist without its Service before `repair()` frees it; default 60 s. */
  leakGraceMs?: number;
  random?: () => number;
  clock?: Clock;
}

/** Thrown at construction for options that cannot work; names the option. */
export class ServiceAllocationConfigError extends Error {
  constructor(option: string, why: string) {
    super(`service allocation option ${option}: ${why}`);
    this.name = "ServiceAllocationConfigError";
  }
}

interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

/** What `repair()` changed, as "10.96.0.7"/"30080" values. */
export interface RepairReport {
  released: string[];
  restored: string[];
  /** Values two Services hold at once (only possible from data written around the allocator). */
  duplicates: string[];
}

const allocationInfo = (kind: string, plural: string): ResourceInfo => ({
  group: "",
  version: "v1",
  kind,
  plural,
  singular: plural.replace(/s$/, ""),
  shortNames: [],
  namespaced: false,
  subresources: [],
  message: "",
  hasStatus: false,
});

/** Random picks before falling back to a full scan of the taken keys. */
const randomAttempts = 8;

/** One range of values (ClusterIPs or NodePorts), one etcd key per taken value. */
class Pool {
  constructor(
    private readonly store: Store,
    private readonly info: ResourceInfo,
    /** "serviceIP" or "nodePort", as in Kubernetes' messages. */
    readonly what: string,
    /** Values automatic allocation may pick; listed on first use (a /16 has 65534). */
    private readonly listCandidates: () => string[],
    /** Every value an explicit request may take. */
    readonly contains: (value: string) => boolean,
    readonly describe: string,
    private readonly random: () => number,
    private readonly clock: Clock,
  ) {}

  private candidateList: string[] | undefined;

  private get candidates(): readonly string[] {
    this.candidateList ??= this.listCandidates();
    return this.candidateList;
  }

  /** Takes `value` for `owner`, or only checks that it is free when `dryRun`. False when taken. */
  async claim(value: string, owner: Owner, dryRun: boolean): Promise<boolean> {
    if (dryRun) return (await this.holder(value)) === undefined;
    try {
      await this.store.create(this.info, {
        apiVersion: "v1",
        kind: this.info.kind,
        metadata: { name: value, uid: owner.uid, creationTimestamp: rfc3339(this.clock.now()) },
        owner: { namespace: owner.namespace, name: owner.name },
      });
      return true;
    } catch (err) {
      if (isApiError(err, "AlreadyExists")) return false;
      throw err;
    }
  }

  /** Takes any free value for `owner` (or picks one without taking it when `dryRun`). */
  async claimAny(owner: Owner, dryRun: boolean, avoid: ReadonlySet<string>): Promise<string> {
    const pick = (from: readonly string[]) => from[Math.floor(this.random() * from.length)];
    for (let i = 0; i < randomAttempts; i++) {
      const value = pick(this.candidates);
      if (value !== undefined && !avoid.has(value) && (await this.claim(value, owner, dryRun))) return value;
    }
    for (;;) {
      const taken = new Set((await this.taken()).map((o) => o.metadata.name));
      const free = this.candidates.filter((v) => !taken.has(v) && !avoid.has(v));
      const value = pick(free);
      if (value === undefined) {
        throw new ApiError(
          "InternalError",
          `failed to allocate a ${this.what}: range ${this.describe} is full`,
        );
      }
      if (await this.claim(value, owner, dryRun)) return value;
    }
  }

  /** Frees `value` if `ownerUid` still holds it; a value taken by someone else since stays theirs. */
  async release(value: string, ownerUid: string): Promise<void> {
    try {
      await this.store.delete(this.info, undefined, value, { uid: ownerUid });
    } catch (err) {
      if (!isApiError(err, "NotFound") && !isApiError(err, "Conflict")) throw err;
    }
  }

  async taken(): Promise<KubeObject[]> {
    return (await this.store.list(this.info)).items;
  }

  private async holder(value: string): Promise<KubeObject | undefined> {
    try {
      return await this.store.get(this.info, undefined, value);
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  }
}

type PoolName = "ips" | "ports";

/** Values one write claimed, to release when the write fails or does not use them in the end. */
class Claims {
  readonly values: Record<PoolName, Set<string>> = { ips: new Set(), ports: new Set() };
}

/**
 * One update's allocation work across the store's retries: `apply` may run several times (each on a
 * fresher stored object) and reuses what an earlier run claimed; `finish` releases what the written
 * object does not hold, including values the update dropped.
 */
export interface UpdateSession {
  apply(old: KubeObject, next: KubeObject): Promise<KubeObject>;
  finish(write: Promise<KubeObject>): Promise<KubeObject>;
}

const noSession: UpdateSession = {
  apply: async (_old, next) => next,
  finish: (write) => write,
};

export class ServiceAllocator {
  private readonly pools: Record<PoolName, Pool>;
  private readonly leakGraceMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly store: Store,
    opts: ServiceAllocationOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    const random = opts.random ?? Math.random;
    this.leakGraceMs = opts.leakGraceMs ?? 60_000;

    const cidrText = opts.serviceCidr ?? defaultServiceCidr;
    let cidr: ReturnType<typeof parseCidr>;
    try {
      cidr = parseCidr(cidrText);
    } catch (err) {
      throw new ServiceAllocationConfigError("serviceCidr", (err as Error).message);
    }
    if (cidr.prefix > 29) {
      throw new ServiceAllocationConfigError("serviceCidr", `${cidrText} is too small; use /29 or larger`);
    }
    const size = cidrSize(cidr);
    const reserved = new Set(
      (opts.reservedClusterIPs ?? [formatIPv4(cidr.base + 1), formatIPv4(cidr.base + 10)]).map((ip) => {
        try {
          return formatIPv4(parseIPv4(ip));
        } catch (err) {
          throw new ServiceAllocationConfigError("reservedClusterIPs", (err as Error).message);
        }
      }),
    );
    const ips = (): string[] => {
      const list: string[] = [];
      // The network (first) and broadcast (last) addresses are never handed out, as in Kubernetes.
      for (let i = 1; i < size - 1; i++) {
        const ip = formatIPv4(cidr.base + i);
        if (!reserved.has(ip)) list.push(ip);
      }
      return list;
    };
    const inCidr = (ip: string): boolean => {
      const n = parseIPv4(ip);
      return cidrContains(cidr, n) && n !== cidr.base && n !== cidr.base + size - 1;
    };

    const [lo, hi] = opts.nodePortRange ?? defaultNodePortRange;
    if (
      !Number.isInteger(lo) ||
      !Number.isInteger(hi) ||
      lo > hi ||
      lo < validNodePorts[0] ||
      hi > validNodePorts[1]
    ) {
      throw new ServiceAllocationConfigError(
        "nodePortRange",
        `${lo}-${hi} must be a non-empty range inside ${validNodePorts[0]}-${validNodePorts[1]}`,
      );
    }
    const ports = (): string[] => Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i));
    const inPorts = (port: string): boolean => Number(port) >= lo && Number(port) <= hi;

    this.pools = {
      ips: new Pool(
        store,
        allocationInfo("ServiceIPAllocation", "serviceipallocations"),
        "serviceIP",
        ips,
        inCidr,
        formatCidr(cidr),
        random,
        this.clock,
      ),
      ports: new Pool(
        store,
        allocationInfo("ServiceNodePortAllocation", "servicenodeportallocations"),
        "nodePort",
        ports,
        inPorts,
        `${lo}-${hi}`,
        random,
        this.clock,
      ),
    };
  }

  /**
   * Fills and claims the ClusterIP and NodePorts of a new, validated Service (`obj` is changed in
   * place), then runs `write`; if it fails, releases what was claimed. With `dryRun` nothing is
   * claimed: explicit values are checked and free ones picked. Other kinds go straight to `write`.
   * Throws Invalid when an explicit value is outside its range or taken, InternalError when a range is full.
   */
  async create(
    info: ResourceInfo,
    obj: KubeObject,
    dryRun: boolean,
    write: () => Promise<KubeObject>,
  ): Promise<KubeObject> {
    if (!isService(info)) return write();
    const claims = new Claims();
    try {
      await this.fill(obj, undefined, claims, dryRun);
      return await write();
    } catch (err) {
      await this.releaseClaims(claims, obj.metadata.uid ?? "", emptyValues());
      throw err;
    }
  }

  /** The allocation work of one update of `info` (none for other kinds or status writes). */
  updateSession(info: ResourceInfo, statusOnly: boolean, dryRun: boolean): UpdateSession {
    if (!isService(info) || statusOnly) return noSession;
    const claims = new Claims();
    let lastOld: KubeObject | undefined;
    return {
      apply: async (old, next) => {
        lastOld = old;
        await this.fill(next, old, claims, dryRun);
        return next;
      },
      finish: async (write) => {
        let written: KubeObject;
        try {
          written = await write;
        } catch (err) {
          await this.releaseClaims(claims, lastOld?.metadata.uid ?? "", emptyValues());
          throw err;
        }
        const uid = written.metadata.uid ?? "";
        const kept = heldValues(written);
        await this.releaseClaims(claims, uid, kept);
        if (lastOld) await this.releaseValues(heldValues(lastOld), uid, kept);
        return written;
      },
    };
  }

  /** Frees what a removed Service held. Call after the Service is gone from the store. */
  async afterRemove(info: ResourceInfo, removed: KubeObject): Promise<void> {
    if (!isService(info)) return;
    await this.releaseValues(heldValues(removed), removed.metadata.uid ?? "", emptyValues());
  }

  /**
   * Brings the keys in line with the stored Services: frees keys no Service holds once they are
   * older than the leak grace period (a crash between claim and write), and re-creates missing keys
   * for values Services hold. Run it periodically from one control plane (under leader election).
   */
  async repair(): Promise<RepairReport> {
    const report: RepairReport = { released: [], restored: [], duplicates: [] };
    // Keys first: a key claimed after this list cannot be mistaken for a leak.
    const taken = { ips: await this.pools.ips.taken(), ports: await this.pools.ports.taken() };
    const held = { ips: new Map<string, KubeObject>(), ports: new Map<string, KubeObject>() };
    for (const svc of (await this.store.list(servicesResource)).items) {
      const values = heldValues(svc);
      for (const pool of poolNames) {
        for (const v of values[pool]) {
          if (held[pool].has(v) && held[pool].get(v)!.metadata.uid !== svc.metadata.uid)
            report.duplicates.push(v);
          else held[pool].set(v, svc);
        }
      }
    }
    for (const pool of poolNames) {
      const keys = new Map(taken[pool].map((k) => [k.metadata.name ?? "", k]));
      for (const [value, key] of keys) {
        const holder = held[pool].get(value);
        const age = this.clock.now() - Date.parse(key.metadata.creationTimestamp ?? "");
        if (holder?.metadata.uid === key.metadata.uid || !(age > this.leakGraceMs)) continue;
        await this.pools[pool].release(value, key.metadata.uid ?? "");
        report.released.push(value);
      }
      for (const [value, svc] of held[pool]) {
        if (keys.has(value) || !this.pools[pool].contains(value)) continue;
        if (await this.pools[pool].claim(value, ownerOf(svc), false)) report.restored.push(value);
      }
    }
    return report;
  }

  /**
   * Makes `obj` hold a ClusterIP and, for NodePort Services, a nodePort per port: kept from `old`
   * where the update did not change them, claimed otherwise (reusing what `claims` already holds).
   * LoadBalancers get NodePorts as NodePort Services do (unless allocateLoadBalancerNodePorts is
   * false) and, with externalTrafficPolicy Local, a healthCheckNodePort. An ExternalName holds none.
   */
  private async fill(
    obj: KubeObject,
    old: KubeObject | undefined,
    claims: Claims,
    dryRun: boolean,
  ): Promise<void> {
    const svc = obj as Service;
    svc.spec ??= {};
    const spec = svc.spec;
    const oldSpec = (old as Service | undefined)?.spec ?? {};
    const owner = ownerOf(obj);
    const causes: FieldCause[] = [];

    if (spec.type === "ExternalName") {
      // A DNS alias has no address and no ports of its own; an IP it held as another type is
      // released when the update is written (heldValues of the new object no longer has it).
      delete spec.clusterIP;
      delete spec.clusterIPs;
      for (const port of spec.ports ?? []) delete port.nodePort;
      return;
    }

    spec.clusterIP ||= spec.clusterIPs?.[0] || oldSpec.clusterIP || "";
    if (oldSpec.clusterIP && spec.clusterIP !== oldSpec.clusterIP) {
      // Validation saw no clusterIP; a changed clusterIPs[0] must not move it either.
      causes.push({
        field: "spec.clusterIPs[0]",
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(spec.clusterIP)}: field is immutable`,
      });
    } else if (spec.clusterIP === "") {
      spec.clusterIP = await this.claimAny("ips", owner, claims, dryRun, new Set());
    } else if (spec.clusterIP !== "None" && spec.clusterIP !== oldSpec.clusterIP) {
      const cause = await this.claimExplicit(
        "ips",
        spec.clusterIP,
        owner,
        claims,
        dryRun,
        "spec.clusterIP",
        "IP",
      );
      if (cause) causes.push(cause);
    }
    spec.clusterIPs = [spec.clusterIP];

    // LoadBalancers get NodePorts too unless they opt out (allocateLoadBalancerNodePorts: false,
    // for load balancers that reach pods directly); explicit ones are still claimed then.
    const autoNodePorts =
      spec.type === "NodePort" ||
      (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false);
    if (autoNodePorts || spec.type === "LoadBalancer") {
      const oldPorts = new Set(heldValues(old).ports);
      const ports = spec.ports ?? [];
      const inUse = new Set(ports.flatMap((p) => (p.nodePort ? [String(p.nodePort)] : [])));
      const checked = new Set<string>();
      for (const [i, port] of ports.entries()) {
        if (!port.nodePort) {
          if (!autoNodePorts) continue;
          const kept = previousNodePort(port, oldSpec.ports ?? [], inUse);
          const value = kept ?? (await this.claimAny("ports", owner, claims, dryRun, inUse));
          port.nodePort = Number(value);
          inUse.add(value);
          continue;
        }
        const value = String(port.nodePort);
        if (oldPorts.has(value) || checked.has(value)) continue;
        checked.add(value);
        const cause = await this.claimExplicit(
          "ports",
          value,
          owner,
          claims,
          dryRun,
          `spec.ports[${i}].nodePort`,
          "port",
        );
        if (cause) causes.push(cause);
      }
    }
    await this.fillHealthCheckNodePort(spec, oldSpec, owner, claims, dryRun, causes);
    if (causes.length > 0) throw invalid("Service", obj.metadata.name ?? "", causes);
  }

  /**
   * A LoadBalancer with `externalTrafficPolicy: Local` gets a healthCheckNodePort from the NodePort
   * range, as upstream: kept across updates, claimed when asked for, dropped with the policy.
   */
  private async fillHealthCheckNodePort(
    spec: NonNullable<Service["spec"]>,
    oldSpec: NonNullable<Service["spec"]>,
    owner: Owner,
    claims: Claims,
    dryRun: boolean,
    causes: FieldCause[],
  ): Promise<void> {
    if (spec.type !== "LoadBalancer" || spec.externalTrafficPolicy !== "Local") {
      delete spec.healthCheckNodePort;
      return;
    }
    const inUse = new Set((spec.ports ?? []).flatMap((p) => (p.nodePort ? [String(p.nodePort)] : [])));
    if (!spec.healthCheckNodePort) {
      const old = oldSpec.healthCheckNodePort ? String(oldSpec.healthCheckNodePort) : undefined;
      const value =
        old !== undefined && !inUse.has(old)
          ? old
          : await this.claimAny("ports", owner, claims, dryRun, inUse);
      spec.healthCheckNodePort = Number(value);
      return;
    }
    const value = String(spec.healthCheckNodePort);
    if (value === String(oldSpec.healthCheckNodePort ?? "")) return;
    if (inUse.has(value)) {
      causes.push({
        field: "spec.healthCheckNodePort",
        reason: "FieldValueInvalid",
        message: `Invalid value: ${value}: is already used by a port of this Service`,
      });
      return;
    }
    const cause = await this.claimExplicit(
      "ports",
      value,
      owner,
      claims,
      dryRun,
      "spec.healthCheckNodePort",
      "port",
    );
    if (cause) causes.push(cause);
  }

  private async claimAny(
    pool: PoolName,
    owner: Owner,
    claims: Claims,
    dryRun: boolean,
    avoid: ReadonlySet<string>,
  ): Promise<string> {
    const spare = [...claims.values[pool]].find((v) => !avoid.has(v));
    if (spare !== undefined) return spare;
    const value = await this.pools[pool].claimAny(owner, dryRun, avoid);
    if (!dryRun) claims.values[pool].add(value);
    return value;
  }

  /** Claims a value the user asked for; returns the field error when it cannot be had. */
  private async claimExplicit(
    pool: PoolName,
    value: string,
    owner: Owner,
    claims: Claims,
    dryRun: boolean,
    field: string,
    noun: string,
  ): Promise<FieldCause | undefined> {
    const p = this.pools[pool];
    const bad = (message: string): FieldCause => ({
      field,
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
    });
    if (!p.contains(value)) {
      return bad(`provided ${noun} is not in the valid range. The range of valid ${noun}s is ${p.describe}`);
    }
    if (claims.values[pool].has(value)) return undefined;
    if (!(await p.claim(value, owner, dryRun))) return bad(`provided ${noun} is already allocated`);
    if (!dryRun) claims.values[pool].add(value);
    return undefined;
  }

  private async releaseClaims(
    claims: Claims,
    uid: string,
    keep: Record<PoolName, Set<string>>,
  ): Promise<void> {
    await this.releaseValues(claims.values, uid, keep);
  }

  private async releaseValues(
    values: Record<PoolName, ReadonlySet<string>>,
    uid: string,
    keep: Record<PoolName, ReadonlySet<string>>,
  ): Promise<void> {
    for (const pool of poolNames) {
      for (const v of values[pool]) {
        if (!keep[pool].has(v) && this.pools[pool].contains(v)) await this.pools[pool].release(v, uid);
      }
    }
  }
}

const poolNames: readonly PoolName[] = ["ips", "ports"];
const servicesResource = resourceForPlural("", "services")!;

function isService(info: ResourceInfo): boolean {
  return info.kind === "Service" && info.group === "";
}

function ownerOf(obj: KubeObject): Owner {
  return {
    namespace: obj.metadata.namespace ?? "",
    name: obj.metadata.name ?? "",
    uid: obj.metadata.uid ?? "",
  };
}

function emptyValues(): Record<PoolName, Set<string>> {
  return { ips: new Set(), ports: new Set() };
}

/** The ClusterIP and nodePorts a stored Service holds. */
function heldValues(obj: KubeObject | undefined): Record<PoolName, Set<string>> {
  const values = emptyValues();
  const spec = (obj as Service | undefined)?.spec;
  if (spec?.clusterIP && spec.clusterIP !== "None") values.ips.add(spec.clusterIP);
  for (const port of spec?.ports ?? []) if (port.nodePort) values.ports.add(String(port.nodePort));
  if (spec?.healthCheckNodePort) values.ports.add(String(spec.healthCheckNodePort));
  return values;
}

/**
 * The nodePort an updated port keeps when the user left it out, like Kubernetes: the old one of the
 * same port number and protocol, unless another port of the update already uses it.
 */
function previousNodePort(
  port: ServicePort,
  oldPorts: readonly ServicePort[],
  inUse: ReadonlySet<string>,
): string | undefined {
  const match = oldPorts.find(
    (p) => p.port === port.port && (p.protocol ?? "TCP") === (port.protocol ?? "TCP") && p.nodePort,
  );
  const value = match ? String(match.nodePort) : undefined;
  return value !== undefined && !inUse.has(value) ? value : undefined;
}
