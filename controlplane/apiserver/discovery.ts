/**
 * Discovery documents, shaped as Kubernetes serves them, so kubectl and kctl learn kinds, plurals,
 * short names, scope and verbs from the resource table (foundation/api/resources.ts) alone.
 * Only legacy (non-aggregated) discovery is served; kubectl falls back to it by itself.
 */
import { type ResourceInfo, resources } from "../../foundation/api/resources.js";
import { servedGroups } from "./request-path.js";

const objectVerbs = ["create", "delete", "get", "list", "patch", "update", "watch"];

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit?: string;
  buildDate?: string;
  goVersion?: string;
  compiler?: string;
  platform?: string;
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/**
 * `/apis`: the registry's groups, then the versions other handlers serve (aggregated APIs), each
 * added to its group or as a group of its own; a group's registry version stays preferred.
 */
export function apiGroupList(extra: readonly { group: string; version: string }[] = []): object {
  const groups = new Map<string, string[]>();
  for (const [group, version] of servedGroups()) if (group !== "") groups.set(group, [version]);
  for (const { group, version } of extra) {
    const versions = groups.get(group) ?? [];
    if (!versions.includes(version)) versions.push(version);
    groups.set(group, versions);
  }
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups].map(([name, versions]) => {
      const gvs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: gvs, preferredVersion: gvs[0] };
    }),
  };
}

export function apiGroup(group: string, version = servedGroups().get(group)!): object {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { kind: "APIGroup", apiVersion: "v1", name: group, versions: [gv], preferredVersion: gv };
}

/** `streaming`: subresources served by handlers outside the registry (log, exec, attach, portforward), listed when present. */
export function apiResourceList(group: string, version: string, streaming: readonly string[] = []): object {
  const served = resources.filter((r) => r.group === group && r.version === version);
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: served.flatMap((info) => [main(info), ...subresources(info, streaming)]),
  };
}

function main(info: ResourceInfo): object {
  return {
    name: info.plural,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: objectVerbs,
    ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
  };
}

function subresources(info: ResourceInfo, streaming: readonly string[]): object[] {
  const out: object[] = [];
  const base = { singularName: "", namespaced: info.namespaced };
  for (const sub of info.subresources) {
    if (sub === "status")
      out.push({
        ...base,
        name: `${info.plural}/status`,
        kind: info.kind,
        verbs: ["get", "patch", "update"],
      });
    if (sub === "binding")
      out.push({ ...base, name: `${info.plural}/binding`, kind: "Binding", verbs: ["create"] });
    if (sub === "eviction") {
      out.push({
        ...base,
        name: `${info.plural}/eviction`,
        group: "policy",
        version: "v1",
        kind: "Eviction",
        verbs: ["create"],
      });
    }
    if (sub === "scale") {
      out.push({
        ...base,
        name: `${info.plural}/scale`,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    }
    if (!streaming.includes(sub)) continue;
    if (sub === "log") out.push({ ...base, name: `${info.plural}/log`, kind: info.kind, verbs: ["get"] });
    if (sub === "token")
      out.push({
        ...base,
        name: `${info.plural}/token`,
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      });
    if (sub === "exec")
      out.push({ ...base, name: `${info.plural}/exec`, kind: "PodExecOptions", verbs: ["create", "get"] });
    if (sub === "attach")
      out.push({
        ...base,
        name: `${info.plural}/attach`,
        kind: "PodAttachOptions",
        verbs: ["create", "get"],
      });
    if (sub === "portforward")
      out.push({
        ...base,
        name: `${info.plural}/portforward`,
        kind: "PodPortForwardOptions",
        verbs: ["create", "get"],
      });
  }
  return out;
}
