/**
 * The per-pod files containers see as `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`,
 * rendered like the kubelet renders them and written under the pod's directory for the pod worker to
 * bind-mount into every container of the pod. Cluster DNS comes later, so the resolver settings are
 * passed in.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { NetworkError } from "./errors.js";

/** Resolver settings for pods (the kubelet's `--cluster-dns`, `--cluster-domain`, and options). */
export interface DnsConfig {
  /** At most 3 addresses (the resolver ignores more). */
  nameservers: readonly string[];
  /** When set, pods search `<namespace>.svc.<domain>`, `svc.<domain>`, `<domain>` first. */
  clusterDomain?: string;
  /** Extra search domains after the cluster ones. */
  searches?: readonly string[];
  /** resolv.conf options; defaults to `ndots:5` with a cluster domain, none without. */
  options?: readonly string[];
}

export interface HostAlias {
  ip: string;
  hostnames: readonly string[];
}

export interface PodFilesInput {
  podName: string;
  namespace: string;
  podIP: string;
  /** `spec.hostname`; defaults to the pod name cut to 63 characters, as Kubernetes does. */
  hostname?: string;
  /** `spec.hostAliases`. */
  hostAliases?: readonly HostAlias[];
  dns: DnsConfig;
}

export interface PodFilePaths {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The pod's hostname: `spec.hostname` or the pod name, limited to a 63-character DNS label. */
export function podHostname(input: Pick<PodFilesInput, "podName" | "hostname">): string {
  if (input.hostname !== undefined) {
    if (input.hostname.length > 63 || !DNS_LABEL.test(input.hostname)) {
      throw new NetworkError("Invalid", `spec.hostname: "${input.hostname}" is not a DNS label`);
    }
    return input.hostname;
  }
  // Kubernetes truncates long pod names and drops a trailing '-' or '.' left by the cut.
  return input.podName.slice(0, 63).replace(/[-.]+$/, "");
}

export function renderHosts(input: PodFilesInput): string {
  const lines = [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
    `${input.podIP}\t${podHostname(input)}`,
  ];
  const aliases = input.hostAliases ?? [];
  aliases.forEach((alias, i) => {
    if (isIP(alias.ip) === 0)
      throw new NetworkError("Invalid", `spec.hostAliases[${i}].ip: "${alias.ip}" is not an IP address`);
    lines.push(`${alias.ip}\t${alias.hostnames.join("\t")}`);
  });
  if (aliases.length > 0)
    lines.splice(lines.length - aliases.length, 0, "", "# Entries added by HostAliases.");
  return `${lines.join("\n")}\n`;
}

export function renderResolvConf(namespace: string, dns: DnsConfig): string {
  if (dns.nameservers.length > 3) {
    throw new NetworkError(
      "Invalid",
      `dns.nameservers: at most 3 are used by the resolver, got ${dns.nameservers.length}`,
    );
  }
  dns.nameservers.forEach((ns, i) => {
    if (isIP(ns) === 0)
      throw new NetworkError("Invalid", `dns.nameservers[${i}]: "${ns}" is not an IP address`);
  });
  const searches = [
    ...(dns.clusterDomain
      ? [`${namespace}.svc.${dns.clusterDomain}`, `svc.${dns.clusterDomain}`, dns.clusterDomain]
      : []),
    ...(dns.searches ?? []),
  ];
  const options = dns.options ?? (dns.clusterDomain ? ["ndots:5"] : []);
  const lines = dns.nameservers.map((ns) => `nameserver ${ns}`);
  if (searches.length > 0) lines.push(`search ${searches.join(" ")}`);
  if (options.length > 0) lines.push(`options ${options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Writes hosts, resolv.conf and hostname into `dir` (created if missing), each atomically, and
 * returns their paths. Rewriting is safe: a container that bind-mounted the old file keeps it.
 */
export async function writePodFiles(dir: string, input: PodFilesInput): Promise<PodFilePaths> {
  const contents: Record<keyof PodFilePaths, [string, string]> = {
    hosts: ["hosts", renderHosts(input)],
    resolvConf: ["resolv.conf", renderResolvConf(input.namespace, input.dns)],
    hostname: ["hostname", `${podHostname(input)}\n`],
  };
  await mkdir(dir, { recursive: true });
  const paths = {} as PodFilePaths;
  for (const [key, [name, text]] of Object.entries(contents) as [keyof PodFilePaths, [string, string]][]) {
    const path = join(dir, name);
    const temp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    await writeFile(temp, text, { mode: 0o644 });
    await rename(temp, path);
    paths[key] = path;
  }
  return paths;
}
