/**
 * The table columns of each kind, matching kubectl's: pods NAME READY STATUS RESTARTS AGE,
 * deployments NAME READY UP-TO-DATE AVAILABLE AGE, services NAME TYPE CLUSTER-IP EXTERNAL-IP
 * PORT(S) AGE, and so on; `-o wide` appends more, `-A` prepends NAMESPACE. A kind without its own
 * columns gets NAME AGE. As in Kubernetes the server prints: the apiserver serves these as
 * `meta.k8s.io` Tables (what stock kubectl asks for), and `kctl get` renders them itself.
 */

import type {
  ConfigMap,
  Deployment,
  Endpoints,
  Event,
  Lease,
  Namespace,
  Node,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  Secret,
  Service,
} from "../../proto/gen/api.js";
import { formatSelector, selectorFromLabelSelector } from "../api/labels.js";
import type { KubeObject } from "../api/object.js";
import { qualifiedKind, type ResourceInfo } from "../api/resources.js";
import { age } from "./age.js";
import { podCells } from "./pod-status.js";

interface KindColumns {
  /** False for kinds whose rows are not keyed by name (events). */
  named: boolean;
  headers: readonly string[];
  wideHeaders: readonly string[];
  cells(obj: KubeObject, now: number): string[];
  wideCells(obj: KubeObject, now: number): string[];
}

const none = "<none>";
const created = (o: KubeObject, now: number) => age(o.metadata.creationTimestamp, now);
const count = (m: Record<string, unknown> | undefined) => String(Object.keys(m ?? {}).length);

function templateWide(
  template: PodTemplateSpec | undefined,
  selector: Parameters<typeof selectorFromLabelSelector>[0] | undefined,
) {
  const containers = template?.spec?.containers ?? [];
  let sel = none;
  try {
    sel = selector ? formatSelector(selectorFromLabelSelector(selector)) || none : none;
  } catch {
    sel = none;
  }
  return [
    containers.map((c) => c.name ?? "").join(",") || none,
    containers.map((c) => c.image ?? "").join(",") || none,
    sel,
  ];
}

function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) return none;
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",");
}

function endpointList(ep: Endpoints): string {
  const all: string[] = [];
  for (const subset of ep.subsets ?? []) {
    const ports = subset.ports?.length ? subset.ports : [{ port: undefined }];
    for (const addr of subset.addresses ?? []) {
      for (const p of ports) all.push(p.port === undefined ? `${addr.ip}` : `${addr.ip}:${p.port}`);
    }
  }
  if (all.length === 0) return none;
  const shown = all.slice(0, 3).join(",");
  return all.length > 3 ? `${shown} + ${all.length - 3} more...` : shown;
}

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const parts = [ready?.status === "True" ? "Ready" : ready?.status === "False" ? "NotReady" : "Unknown"];
  if (node.spec?.unschedulable) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeRoles(node: Node): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .filter(Boolean)
    .sort();
  return roles.join(",") || none;
}

function nodeAddress(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address ?? none;
}

function eventObject(ev: Event): string {
  const ref = ev.involvedObject ?? {};
  return `${(ref.kind ?? "").toLowerCase()}/${ref.name ?? ""}`;
}

/** When an event last happened: lastTimestamp, else eventTime, else when it was created. */
export function eventTime(ev: Event): string | undefined {
  return ev.lastTimestamp || ev.eventTime || ev.metadata.creationTimestamp;
}

const table: Record<string, KindColumns> = {
  Pod: {
    named: true,
    headers: ["READY", "STATUS", "RESTARTS", "AGE"],
    wideHeaders: ["IP", "NODE"],
    cells: (o, now) => {
      const c = podCells(o as Pod, now);
      return [c.ready, c.status, c.restarts, created(o, now)];
    },
    wideCells: (o) => {
      const pod = o as Pod;
      return [pod.status?.podIP || none, pod.spec?.nodeName || none];
    },
  },
  Deployment: {
    named: true,
    headers: ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (o, now) => {
      const d = o as Deployment;
      const s = d.status ?? {};
      return [
        `${s.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
        String(s.updatedReplicas ?? 0),
        String(s.availableReplicas ?? 0),
        created(o, now),
      ];
    },
    wideCells: (o) => templateWide((o as Deployment).spec?.template, (o as Deployment).spec?.selector),
  },
  ReplicaSet: {
    named: true,
    headers: ["DESIRED", "CURRENT", "READY", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (o, now) => {
      const rs = o as ReplicaSet;
      return [
        String(rs.spec?.replicas ?? 1),
        String(rs.status?.replicas ?? 0),
        String(rs.status?.readyReplicas ?? 0),
        created(o, now),
      ];
    },
    wideCells: (o) => templateWide((o as ReplicaSet).spec?.template, (o as ReplicaSet).spec?.selector),
  },
  Service: {
    named: true,
    headers: ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
    wideHeaders: ["SELECTOR"],
    cells: (o, now) => {
      const svc = o as Service;
      return [
        svc.spec?.type ?? "ClusterIP",
        svc.spec?.clusterIP || none,
        none,
        servicePorts(svc),
        created(o, now),
      ];
    },
    wideCells: (o) => {
      const sel = (o as Service).spec?.selector;
      return [
        sel && Object.keys(sel).length
          ? Object.entries(sel)
              .map(([k, v]) => `${k}=${v}`)
              .join(",")
          : none,
      ];
    },
  },
  Node: {
    named: true,
    headers: ["STATUS", "ROLES", "AGE", "VERSION"],
    wideHeaders: ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
    cells: (o, now) => {
      const n = o as Node;
      return [nodeStatus(n), nodeRoles(n), created(o, now), n.status?.nodeInfo?.kubeletVersion || ""];
    },
    wideCells: (o) => {
      const n = o as Node;
      const info = n.status?.nodeInfo ?? {};
      return [
        nodeAddress(n, "InternalIP"),
        nodeAddress(n, "ExternalIP"),
        info.osImage || "<unknown>",
        info.kernelVersion || "<unknown>",
        info.containerRuntimeVersion || "<unknown>",
      ];
    },
  },
  Namespace: {
    named: true,
    headers: ["STATUS", "AGE"],
    wideHeaders: [],
    cells: (o, now) => [(o as Namespace).status?.phase ?? "Active", created(o, now)],
    wideCells: () => [],
  },
  ConfigMap: {
    named: true,
    headers: ["DATA", "AGE"],
    wideHeaders: [],
    cells: (o, now) => {
      const cm = o as ConfigMap;
      return [
        String(Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length),
        created(o, now),
      ];
    },
    wideCells: () => [],
  },
  Secret: {
    named: true,
    headers: ["TYPE", "DATA", "AGE"],
    wideHeaders: [],
    cells: (o, now) => {
      const s = o as Secret;
      return [s.type ?? "Opaque", count(s.data), created(o, now)];
    },
    wideCells: () => [],
  },
  Endpoints: {
    named: true,
    headers: ["ENDPOINTS", "AGE"],
    wideHeaders: [],
    cells: (o, now) => [endpointList(o as Endpoints), created(o, now)],
    wideCells: () => [],
  },
  Event: {
    named: false,
    headers: ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    wideHeaders: [],
    cells: (o, now) => {
      const ev = o as Event;
      return [
        age(eventTime(ev), now),
        ev.type ?? "",
        ev.reason ?? "",
        eventObject(ev),
        (ev.message ?? "").trim(),
      ];
    },
    wideCells: () => [],
  },
  Lease: {
    named: true,
    headers: ["HOLDER", "AGE"],
    wideHeaders: [],
    cells: (o, now) => [(o as Lease).spec?.holderIdentity ?? "", created(o, now)],
    wideCells: () => [],
  },
};

const fallback: KindColumns = {
  named: true,
  headers: ["AGE"],
  wideHeaders: [],
  cells: (o, now) => [created(o, now)],
  wideCells: () => [],
};

export interface TableOptions {
  now: number;
  wide: boolean;
  /** Prepend NAMESPACE (for `-A`). */
  withNamespace: boolean;
  /** Print names as `deployment.apps/web` (when several kinds share the output). */
  withKind: boolean;
}

/** The header row for `info`'s table. */
export function headerRow(info: ResourceInfo, opts: TableOptions): string[] {
  const cols = table[info.kind] ?? fallback;
  return [
    ...(opts.withNamespace && info.namespaced ? ["NAMESPACE"] : []),
    ...(cols.named ? ["NAME"] : []),
    ...cols.headers,
    ...(opts.wide ? cols.wideHeaders : []),
  ];
}

/** One object's row, in the same column order as `headerRow`. */
export function objectRow(info: ResourceInfo, obj: KubeObject, opts: TableOptions): string[] {
  const cols = table[info.kind] ?? fallback;
  const name = obj.metadata.name ?? "";
  return [
    ...(opts.withNamespace && info.namespaced ? [obj.metadata.namespace ?? ""] : []),
    ...(cols.named ? [opts.withKind ? `${qualifiedKind(info)}/${name}` : name] : []),
    ...cols.cells(obj, opts.now),
    ...(opts.wide ? cols.wideCells(obj, opts.now) : []),
  ];
}

/** A column of the server's Table: priority 0 always shown, 1 only with `-o wide`. */
export interface TableColumn {
  name: string;
  /** "name" marks the column kubectl prefixes with the kind. */
  format: "name" | "";
  priority: 0 | 1;
}

const bare = (now: number, wide: boolean): TableOptions => ({
  now,
  wide,
  withNamespace: false,
  withKind: false,
});

/** Every column of `info`'s table, wide ones included, in `tableCells` order. */
export function tableColumns(info: ResourceInfo): TableColumn[] {
  const normal = headerRow(info, bare(0, false)).length;
  const named = (table[info.kind] ?? fallback).named;
  return headerRow(info, bare(0, true)).map((name, i) => ({
    name,
    format: named && i === 0 ? "name" : "",
    priority: i < normal ? 0 : 1,
  }));
}

/** One object's cells for every column of `tableColumns`. */
export function tableCells(info: ResourceInfo, obj: KubeObject, now: number): string[] {
  return objectRow(info, obj, bare(now, true));
}
