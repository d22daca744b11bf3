/**
 * Per-registry settings and the endpoints a pull tries for a registry: its mirrors in order, then
 * the registry itself. HTTPS is the default; plain HTTP is used only for registries named with
 * `plainHttp: true` and, as Docker and containerd do, for loopback addresses (`localhost`,
 * `127.0.0.0/8`, `::1`) unless their config says `plainHttp: false` or gives a CA.
 */
import { isIPv4 } from "node:net";
import { RegistryError } from "./errors.js";

export interface HostConfig {
  /** Endpoints tried before the registry itself, in order (`https://mirror.example.com`). */
  mirrors?: string[];
  /** true: plain HTTP; false: HTTPS even on a loopback address. Unset: HTTPS except loopback. */
  plainHttp?: boolean;
  /** PEM CA certificates trusted for this host, besides the system's. */
  ca?: string;
}

export interface RegistryConfig {
  /** Keyed by registry host as written in image references (`docker.io`, `127.0.0.1:5000`). */
  hosts?: Record<string, HostConfig>;
}

export interface Endpoint {
  /** `https://host[:port]`, no trailing slash. */
  base: string;
  /**
   * Whose credentials this endpoint gets: the registry's name as references write it (`docker.io`,
   * `127.0.0.1:5000`), or for a mirror the mirror's own host, so a mirror never sees the
   * registry's credentials.
   */
  registry: string;
  ca: string | undefined;
  mirror: boolean;
}

/** docker.io is the name in references; its API lives at this host. */
const DOCKER_HUB_API = "registry-1.docker.io";

/** The endpoints to try for `registry`, mirrors first. */
export function endpointsFor(registry: string, config: RegistryConfig = {}): Endpoint[] {
  const host = config.hosts?.[registry] ?? {};
  const out: Endpoint[] = (host.mirrors ?? []).map((m, i) => {
    const url = parseEndpointUrl(m, `hosts["${registry}"].mirrors[${i}]`);
    return { base: url.origin, registry: url.host, ca: config.hosts?.[url.host]?.ca, mirror: true };
  });
  const apiHost = registry === "docker.io" ? DOCKER_HUB_API : registry;
  const scheme = usesPlainHttp(registry, host) ? "http" : "https";
  out.push({ base: `${scheme}://${apiHost}`, registry, ca: host.ca, mirror: false });
  return out;
}

function usesPlainHttp(registry: string, host: HostConfig): boolean {
  if (host.plainHttp !== undefined) return host.plainHttp;
  return host.ca === undefined && isLoopback(registry);
}

/** True for `localhost`, `127.0.0.0/8` and `::1`, with or without a port. */
export function isLoopback(hostPort: string): boolean {
  let host = hostPort;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort);
  if (bracket) host = bracket[1]!;
  else if (/^[^:]+:\d+$/.test(hostPort)) host = hostPort.slice(0, hostPort.lastIndexOf(":"));
  if (host === "localhost" || host === "::1") return true;
  return isIPv4(host) && host.startsWith("127.");
}

function parseEndpointUrl(text: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RegistryError("Invalid", `registry config ${field}: "${text}" is not a URL`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname.replace(/\/+$/, "") !== "") {
    throw new RegistryError(
      "Invalid",
      `registry config ${field}: "${text}" must be http(s)://host[:port] with no path`,
    );
  }
  return url;
}

/** Checks a registry config read from JSON, naming every bad field. */
export function parseRegistryConfig(value: unknown, where: string): RegistryConfig {
  const bad = (field: string, why: string) => new RegistryError("Invalid", `${where}: ${field}: ${why}`);
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw bad("(top)", "must be an object");
  const hosts = (value as { hosts?: unknown }).hosts;
  if (hosts === undefined) return {};
  if (typeof hosts !== "object" || hosts === null || Array.isArray(hosts)) {
    throw bad("hosts", "must map registry hosts to settings");
  }
  const out: Record<string, HostConfig> = {};
  for (const [name, raw] of Object.entries(hosts)) {
    const field = `hosts["${name}"]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(field, "must be an object");
    const h = raw as Record<string, unknown>;
    for (const key of Object.keys(h)) {
      if (!["mirrors", "plainHttp", "ca"].includes(key))
        throw bad(`${field}.${key}`, "is not a known setting");
    }
    const host: HostConfig = {};
    if (h.mirrors !== undefined) {
      if (!Array.isArray(h.mirrors) || !h.mirrors.every((m) => typeof m === "string")) {
        throw bad(`${field}.mirrors`, "must be a list of URLs");
      }
      for (const [i, m] of h.mirrors.entries()) parseEndpointUrl(m, `${field}.mirrors[${i}]`);
      host.mirrors = h.mirrors;
    }
    if (h.plainHttp !== undefined) {
      if (typeof h.plainHttp !== "boolean") throw bad(`${field}.plainHttp`, "must be true or false");
      host.plainHttp = h.plainHttp;
    }
    if (h.ca !== undefined) {
      if (typeof h.ca !== "string" || !h.ca.includes("-----BEGIN CERTIFICATE-----")) {
        throw bad(`${field}.ca`, "must be PEM certificates");
      }
      host.ca = h.ca;
    }
    out[name] = host;
  }
  return { hosts: out };
}
