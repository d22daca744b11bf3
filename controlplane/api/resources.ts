/**
 * The registry of API resources: how a kind is named on the wire (group, version, plural, short
 * names), whether it lives in a namespace, which subresources it has, and which message in
 * `proto/api.proto` describes it. The apiserver routes, the store's etcd keys, discovery and kctl's
 * kind lookup all read this one table.
 */

export type Subresource = "status" | "scale" | "binding" | "log" | "exec";

export interface ResourceInfo {
  /** API group; "" is the core group served under /api/v1. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in paths and etcd keys. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  subresources: readonly Subresource[];
  /** Fully qualified message name in proto/api.proto. */
  message: string;
  /** Kinds whose status is owned by controllers or agents: updates of the main resource keep the old status. */
  hasStatus: boolean;
}

const r = (info: ResourceInfo): ResourceInfo => info;

export const resources: readonly ResourceInfo[] = [
  r({
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    shortNames: ["ns"],
    namespaced: false,
    subresources: ["status"],
    message: "kctl.api.Namespace",
    hasStatus: true,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    shortNames: ["po"],
    namespaced: true,
    subresources: ["status", "binding", "log", "exec"],
    message: "kctl.api.Pod",
    hasStatus: true,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    singular: "service",
    shortNames: ["svc"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.Service",
    hasStatus: true,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Endpoints",
    plural: "endpoints",
    singular: "endpoints",
    shortNames: ["ep"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Endpoints",
    hasStatus: false,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    shortNames: ["no"],
    namespaced: false,
    subresources: ["status"],
    message: "kctl.api.Node",
    hasStatus: true,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    shortNames: ["ev"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Event",
    hasStatus: false,
  }),
  r({
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    shortNames: ["cm"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.ConfigMap",
    hasStatus: false,
  }),
  r({
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Secret",
    hasStatus: false,
  }),
  r({
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    shortNames: ["rs"],
    namespaced: true,
    subresources: ["status", "scale"],
    message: "kctl.api.ReplicaSet",
    hasStatus: true,
  }),
  r({
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    shortNames: ["deploy"],
    namespaced: true,
    subresources: ["status", "scale"],
    message: "kctl.api.Deployment",
    hasStatus: true,
  }),
  r({
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.Lease",
    hasStatus: false,
  }),
];

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Finds a resource by `apiVersion` + `kind` as written in a manifest. */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resources.find((info) => info.kind === kind && apiVersionOf(info) === apiVersion);
}

/** Finds a resource by plural within a group, as the apiserver does from a URL path. */
export function resourceForPlural(group: string, plural: string): ResourceInfo | undefined {
  return resources.find((info) => info.group === group && info.plural === plural);
}

/**
 * Resolves what a user types on the command line: kind, plural, singular or short name, optionally
 * qualified by group (`deployments.apps`), case-insensitive, like kubectl.
 */
export function resolveResourceName(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf(".");
  const base = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  return resources.find(
    (info) =>
      (group === undefined || info.group === group) &&
      (info.plural === base ||
        info.singular === base ||
        info.kind.toLowerCase() === base ||
        info.shortNames.includes(base)),
  );
}

/** `deployment.apps` / `pod`: the prefix kubectl prints before an object's name. */
export function qualifiedKind(info: ResourceInfo): string {
  return info.group ? `${info.singular}.${info.group}` : info.singular;
}
