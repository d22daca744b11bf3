/**
 * Pod sandboxes: per pod a network namespace held by a bind mount at `<stateDir>/netns/<podUID>`,
 * `lo` up, a veth pair whose host end (named from the pod UID) is a port of the node bridge and whose
 * pod end is `eth0` with an address from the node's podCIDR and a default route via the bridge, plus
 * the pod's hosts/resolv.conf/hostname files. All containers of a pod join this one namespace.
 *
 * Cost: no process per pod. The node's long-lived netlink helper (sandbox-helper-linux.ts) makes a
 * sandbox's namespace and links in one request and removes them in one; only the bridge, once per
 * node, is set up with `ip`.
 */
import { randomBytes } from "node:crypto";
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NativeHelper } from "../util/native-helper.js";
import { ensureBridge } from "./bridge-linux.js";
import { formatIpv4, type Ipv4Cidr, parseIpv4Cidr } from "./cidr.js";
import { NetworkError } from "./errors.js";
import { HostLocalIpam } from "./ipam.js";
import { isNetnsMounted } from "./netns-linux.js";
import { type DnsConfig, type HostAlias, type PodFilePaths, writePodFiles } from "./pod-files.js";
import { sandboxHelper } from "./sandbox-helper-linux.js";
import { hostVethName } from "./veth-name.js";

export const DEFAULT_BRIDGE = "kctl0";
export const DEFAULT_MTU = 1500;

export interface PodNetworkConfig {
  /** The agent's state dir; this module owns `netns/`, `ipam/` and `pods/<uid>/network/` in it. */
  stateDir: string;
  /** The node's `spec.podCIDR` (IPv4). */
  podCIDR: string;
  /** Resolver settings written into every pod's resolv.conf. */
  dns: DnsConfig;
  /** MTU of the bridge and both veth ends; defaults to 1500. */
  mtu?: number;
  /** Bridge name; defaults to `kctl0`. */
  bridge?: string;
  /**
   * The node's network namespace as a path (nsfs bind mount or `/proc/PID/ns/net`). Defaults to the
   * agent's own; tests and the lab pass a namespace they made, so the real host is never touched.
   */
  hostNetns?: string;
}

export interface SandboxRequest {
  podUID: string;
  podName: string;
  namespace: string;
  /** `spec.hostname`, if set. */
  hostname?: string;
  hostAliases?: readonly HostAlias[];
}

/** What the pod worker needs to run containers in the sandbox and to report the pod. */
export interface Sandbox {
  podUID: string;
  /** Give this to the shim as the container's network namespace path. */
  netnsPath: string;
  /** `status.podIP`. */
  ip: string;
  prefixLength: number;
  gateway: string;
  hostVeth: string;
  /** Files to bind-mount at /etc/hosts, /etc/resolv.conf and /etc/hostname in every container. */
  files: PodFilePaths;
}

type SandboxLinks = Omit<Sandbox, "files">;

const POD_UID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class PodNetwork {
  readonly bridge: string;
  readonly mtu: number;
  private readonly cidr: Ipv4Cidr;
  private readonly ipam: HostLocalIpam;
  private readonly config: PodNetworkConfig;
  private readonly helper: NativeHelper;
  private node: Promise<void> | undefined;

  /** Validates the configuration; throws `Invalid` naming the bad field. Touches nothing. */
  constructor(config: PodNetworkConfig) {
    this.config = config;
    this.cidr = parseIpv4Cidr(config.podCIDR, "podCIDR");
    this.mtu = config.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(this.mtu) || this.mtu < 576 || this.mtu > 65535) {
      throw new NetworkError("Invalid", `mtu: ${config.mtu} is not an MTU from 576 to 65535`);
    }
    this.bridge = config.bridge ?? DEFAULT_BRIDGE;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridge)) {
      throw new NetworkError(
        "Invalid",
        `bridge: "${this.bridge}" is not an interface name (1-15 characters)`,
      );
    }
    this.ipam = new HostLocalIpam(config.stateDir, this.cidr);
    this.helper = sandboxHelper(config.hostNetns);
  }

  /** The node's gateway address (the bridge's). */
  get gateway(): string {
    return formatIpv4(this.cidr.gateway);
  }

  /**
   * Makes the node bridge and forwarding right. Runs once per instance (setupSandbox calls it);
   * call it again through a new instance after the node's podCIDR changes.
   */
  ensureNode(): Promise<void> {
    this.node ??= ensureBridge({
      name: this.bridge,
      cidr: this.cidr,
      mtu: this.mtu,
      netns: this.config.hostNetns,
    }).catch((err: unknown) => {
      this.node = undefined;
      throw err;
    });
    return this.node;
  }

  /**
   * Makes the pod's sandbox and returns it. Idempotent: for a pod whose sandbox is complete it returns
   * the same sandbox (same IP) and spawns one check; a half-made sandbox (a crash in the middle) is
   * removed and made again with the pod's existing address. On failure nothing of the attempt is left
   * (namespace, veth, files, and an address allocated by this call).
   */
  async setupSandbox(req: SandboxRequest): Promise<Sandbox> {
    checkPodUID(req.podUID);
    await this.ensureNode();
    const hadAddress = (await this.ipam.lookup(req.podUID)) !== undefined;
    const ip = await this.ipam.allocate(req.podUID);
    try {
      const links = (await this.existing(req.podUID, ip)) ?? (await this.build(req.podUID, ip));
      const files = await writePodFiles(this.networkDir(req.podUID), {
        podName: req.podName,
        namespace: req.namespace,
        podIP: ip,
        dns: this.config.dns,
        ...(req.hostname !== undefined && { hostname: req.hostname }),
        ...(req.hostAliases !== undefined && { hostAliases: req.hostAliases }),
      });
      const sandbox: Sandbox = { ...links, files };
      await writeAtomic(this.recordPath(req.podUID), `${JSON.stringify(sandbox)}\n`);
      return sandbox;
    } catch (err) {
      await this.removeLinks(req.podUID).catch(() => undefined);
      await rm(this.networkDir(req.podUID), { recursive: true, force: true }).catch(() => undefined);
      if (!hadAddress) await this.ipam.release(req.podUID).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes the pod's veth, namespace (mount and file), address and files. Idempotent, and needs no
   * saved state: every name derives from the pod UID. Containers still inside keep the namespace
   * alive until they exit; stop them first.
   */
  async teardownSandbox(podUID: string): Promise<void> {
    checkPodUID(podUID);
    await this.removeLinks(podUID);
    await this.ipam.release(podUID);
    await rm(this.networkDir(podUID), { recursive: true, force: true });
  }

  /** UIDs of pods that have a namespace file on this node (for garbage collection after a restart). */
  async listSandboxes(): Promise<string[]> {
    try {
      return (await readdir(this.netnsDir())).filter((name) => POD_UID.test(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  netnsPath(podUID: string): string {
    return join(this.netnsDir(), podUID);
  }

  private netnsDir(): string {
    return join(this.config.stateDir, "netns");
  }

  private networkDir(podUID: string): string {
    return join(this.config.stateDir, "pods", podUID, "network");
  }

  private recordPath(podUID: string): string {
    return join(this.networkDir(podUID), "sandbox.json");
  }

  /** The recorded sandbox if it is complete and still real: namespace mounted, veth on the bridge. */
  private async existing(podUID: string, ip: string): Promise<SandboxLinks | undefined> {
    let recorded: Sandbox;
    try {
      recorded = JSON.parse(await readFile(this.recordPath(podUID), "utf8")) as Sandbox;
    } catch {
      return undefined;
    }
    if (recorded.ip !== ip || !(await isNetnsMounted(recorded.netnsPath))) return undefined;
    const healthy = (await this.helper.request(["check", recorded.hostVeth, this.bridge])) === "yes";
    return healthy ? recorded : undefined;
  }

  private async build(podUID: string, ip: string): Promise<SandboxLinks> {
    const netnsPath = this.netnsPath(podUID);
    // Teardown deletes the veth before the namespace file, so without the file there is no veth left
    // from an earlier attempt and a fresh setup skips the cleanup request.
    if (await exists(netnsPath)) await this.removeLinks(podUID);
    const hostVeth = hostVethName(podUID);
    const gateway = this.gateway;
    await mkdir(this.netnsDir(), { recursive: true });
    // The helper binds the new namespace onto this file, which must exist.
    await writeFile(netnsPath, "", { flag: "a", mode: 0o444 });
    // lo up; eth0 (this MTU, the address, up, default route via the gateway) with its peer in the
    // node's namespace, a port of the bridge, up, and hairpin on so that a pod reaches itself
    // through a Service address the proxy rewrites to it.
    await this.helper.request([
      "setup",
      netnsPath,
      hostVeth,
      String(this.mtu),
      ip,
      String(this.cidr.prefix),
      gateway,
      this.bridge,
    ]);
    return {
      podUID,
      netnsPath,
      ip,
      prefixLength: this.cidr.prefix,
      gateway,
      hostVeth,
    };
  }

  private async removeLinks(podUID: string): Promise<void> {
    await this.helper.request(["teardown", this.netnsPath(podUID), hostVethName(podUID)]);
  }
}

function checkPodUID(podUID: string): void {
  if (!POD_UID.test(podUID) || podUID.includes("..")) {
    throw new NetworkError(
      "Invalid",
      `podUID: "${podUID}" is not a UID (letters, digits, '-', '_', '.'; no '/')`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(temp, text);
  await rename(temp, path);
}
