/**
 * The lookups over the API's resources: how a kind is named on the wire (group, version, plural,
 * short names), whether it lives in a namespace, which subresources it has, and which message in
 * `proto/api.proto` describes it. The apiserver routes, the store's etcd keys, discovery and kctl's
 * kind lookup all read this one table; each row is declared by its kind's file in
 * foundation/kinds, next to the rest of that kind's rules.
 */
import { kinds } from "../kinds/index.js";
import type { ResourceInfo } from "./resource-info.js";

export type { ResourceInfo, Subresource } from "./resource-info.js";

/** Every served resource, in discovery order. */
export const resources: readonly ResourceInfo[] = kinds.map((k) => k.resource);

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
