/**
 * Placing a Service's desired endpoints into EndpointSlices, as a pure function: which slices to
 * create, which to rewrite and which to delete, given the slices the controller already keeps for
 * the Service. Like upstream's reconciler it moves as little as it can, so one pod coming or going
 * rewrites one slice, not all of them:
 *
 * 1. each existing slice keeps those of its endpoints that are still desired (with their current
 *    conditions), matched by port list;
 * 2. the endpoints left over go into existing slices of their port list that have room, then into
 *    new slices, at most `maxEndpointsPerSlice` (100, upstream's default) each;
 * 3. a slice left empty is deleted, unless it is the only one of its port list; a Service without
 *    any endpoint keeps one empty, portless slice (upstream's placeholder), so clients can tell "no
 *    endpoints" from "not yet synced".
 *
 * Slice names are `<service>-<5 chars>`, the suffix a hash of the port list and a counter, so a
 * retried create after a stale cache hits AlreadyExists instead of making a twin.
 */
import { createHash } from "node:crypto";
import { newControllerRef } from "../../../foundation/api/owner-references.js";
import type { DiscoveryEndpoint, EndpointSlice, Service } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { compareEndpoints, type EndpointGroup, endpointKey, portsKey } from "./desired.js";

export const maxEndpointsPerSlice = 100;
export const serviceNameLabel = "kubernetes.io/service-name";
export const managedByLabel = "endpointslice.kubernetes.io/managed-by";
export const controllerName = "endpointslice-controller.k8s.io";
export const headlessLabel = "service.kubernetes.io/headless";

export interface SlicePlan {
  create: EndpointSlice[];
  /** Whole objects carrying the resourceVersion they were read at. */
  update: EndpointSlice[];
  /** Names. */
  delete: string[];
}

/** The labels every slice of `service` carries: the Service's own plus the controller's. */
export function sliceLabels(service: DeepReadonly<Service>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) {
    if (k !== serviceNameLabel && k !== managedByLabel && k !== headlessLabel) labels[k] = v;
  }
  labels[serviceNameLabel] = service.metadata.name ?? "";
  labels[managedByLabel] = controllerName;
  if (service.spec?.clusterIP === "None") labels[headlessLabel] = "";
  return labels;
}

interface Placed {
  existing: DeepReadonly<EndpointSlice> | undefined;
  name: string;
  group: EndpointGroup;
  endpoints: DiscoveryEndpoint[];
}

export function planSlices(
  service: DeepReadonly<Service>,
  groups: ReadonlyMap<string, EndpointGroup>,
  existing: readonly DeepReadonly<EndpointSlice>[],
  max = maxEndpointsPerSlice,
): SlicePlan {
  const desired = new Map(groups);
  if (desired.size === 0) desired.set(portsKey([]), { ports: [], endpoints: [] });

  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const taken = new Set(existing.map((s) => s.metadata.name ?? ""));
  const sorted = [...existing].sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  const placedByGroup = new Map<string, Placed[]>();

  for (const slice of sorted) {
    const key = portsKey(slice.ports ?? []);
    const group = desired.get(key);
    if (!group) {
      plan.delete.push(slice.metadata.name ?? "");
      continue;
    }
    const placed = placedByGroup.get(key) ?? [];
    placedByGroup.set(key, placed);
    placed.push({ existing: slice, name: slice.metadata.name ?? "", group, endpoints: [] });
  }

  for (const [key, group] of desired) {
    const byKey = new Map(group.endpoints.map((e) => [endpointKey(e), e]));
    const placed = placedByGroup.get(key) ?? [];
    placedByGroup.set(key, placed);
    // 1. Keep endpoints where they are (at most `max` per slice, should a slice be over-full).
    for (const p of placed) {
      for (const e of p.existing?.endpoints ?? []) {
        const want = byKey.get(endpointKey(e));
        if (!want || p.endpoints.length >= max) continue;
        p.endpoints.push(want);
        byKey.delete(endpointKey(e));
      }
    }
    // 2. The rest into slices with room, then into new ones.
    const rest = [...byKey.values()];
    for (const p of placed)
      while (rest.length > 0 && p.endpoints.length < max) p.endpoints.push(rest.shift()!);
    while (rest.length > 0 || placed.length === 0) {
      const name = freeName(service.metadata.name ?? "", key, taken);
      placed.push({ existing: undefined, name, group, endpoints: rest.splice(0, max) });
    }
  }

  const labels = sliceLabels(service);
  for (const placed of placedByGroup.values()) {
    // 3. Empty slices go, but each port list keeps one.
    const keep = placed.filter(
      (p, i) => p.endpoints.length > 0 || (i === 0 && placed.every((q) => q.endpoints.length === 0)),
    );
    for (const p of placed) if (!keep.includes(p) && p.existing) plan.delete.push(p.name);
    for (const p of keep) {
      const slice = sliceObject(service, p.name, labels, p.group, p.endpoints.sort(compareEndpoints));
      if (!p.existing) plan.create.push(slice);
      else if (!sameSlice(p.existing, slice)) {
        slice.metadata!.resourceVersion = p.existing.metadata.resourceVersion!;
        plan.update.push(slice);
      }
    }
  }
  plan.delete.sort();
  return plan;
}

function sliceObject(
  service: DeepReadonly<Service>,
  name: string,
  labels: Record<string, string>,
  group: EndpointGroup,
  endpoints: DiscoveryEndpoint[],
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: service.metadata.namespace ?? "",
      labels: { ...labels },
      ownerReferences: [newControllerRef({ ...service, apiVersion: "v1", kind: "Service" })],
    },
    addressType: "IPv4",
    endpoints,
    ports: group.ports,
  };
}

/** Upstream's name suffix alphabet: no vowels, no look-alike digits. */
const alphabet = "bcdfghjklmnpqrstvwxz2456789";

function freeName(service: string, key: string, taken: Set<string>): string {
  for (let n = 0; ; n++) {
    const digest = createHash("sha256").update(`${key}\0${n}`).digest();
    const suffix = Array.from(digest.subarray(0, 5), (b) => alphabet[b % alphabet.length]).join("");
    // 63 - 6: the name stays a DNS label even for the longest Service name.
    const name = `${service.slice(0, 57)}-${suffix}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

function sameSlice(current: DeepReadonly<EndpointSlice>, next: EndpointSlice): boolean {
  return (
    canonical(current.endpoints ?? []) === canonical(next.endpoints ?? []) &&
    canonical(current.ports ?? []) === canonical(next.ports ?? []) &&
    canonical(current.metadata.labels ?? {}) === canonical(next.metadata?.labels ?? {}) &&
    current.addressType === next.addressType
  );
}

/** JSON with object keys sorted: the stored object's key order is the codec's, not ours. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
