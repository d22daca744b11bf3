/**
 * Tables as kubectl prints them, from each kind's columns (registered in foundation/kinds): pods
 * NAME READY STATUS RESTARTS AGE, deployments NAME READY UP-TO-DATE AVAILABLE AGE, and so on;
 * `-o wide` appends more, `-A` prepends NAMESPACE. A kind without its own columns gets NAME AGE. As
 * in Kubernetes the server prints: the apiserver serves these as `meta.k8s.io` Tables (what stock
 * kubectl asks for), and `kctl get` renders them itself.
 */

import type { KubeObject } from "../api/object.js";
import { qualifiedKind, type ResourceInfo } from "../api/resources.js";
import { type KindColumns, kindFor } from "../kinds/index.js";
import { created } from "./cells.js";

const fallback: KindColumns<KubeObject> = {
  headers: ["AGE"],
  cells: (o, now) => [created(o, now)],
};

function columnsOf(info: ResourceInfo): KindColumns<KubeObject> {
  return kindFor(info)?.columns ?? fallback;
}

export interface TableOptions {
  now: number;
  wide: boolean;
  /** Prepend NAMESPACE (for `-A`). */
  withNamespace: boolean;
  /** Print names as `deployment.apps/web` (when several kinds share the output). */
  withKind: boolean;
}

/** The kind's own columns (after NAMESPACE and NAME), wide ones placed by `wideOrder` when it has one. */
function kindHeaders(cols: KindColumns<KubeObject>, wide: boolean): readonly string[] {
  if (!wide) return cols.headers;
  return cols.wideOrder ?? [...cols.headers, ...(cols.wideHeaders ?? [])];
}

/** The header row for `info`'s table. */
export function headerRow(info: ResourceInfo, opts: TableOptions): string[] {
  const cols = columnsOf(info);
  return [
    ...(opts.withNamespace && info.namespaced ? ["NAMESPACE"] : []),
    ...(cols.named !== false ? ["NAME"] : []),
    ...kindHeaders(cols, opts.wide),
  ];
}

/** The kind's own cells, in `kindHeaders` order. */
function kindCells(cols: KindColumns<KubeObject>, obj: KubeObject, opts: TableOptions): string[] {
  const cells = cols.cells(obj, opts.now);
  if (!opts.wide) return cells;
  const wide = cols.wideCells?.(obj, opts.now) ?? [];
  if (!cols.wideOrder) return [...cells, ...wide];
  const headers = [...cols.headers, ...(cols.wideHeaders ?? [])];
  const values = [...cells, ...wide];
  return cols.wideOrder.map((h) => values[headers.indexOf(h)] ?? "");
}

/** One object's row, in the same column order as `headerRow`. */
export function objectRow(info: ResourceInfo, obj: KubeObject, opts: TableOptions): string[] {
  const cols = columnsOf(info);
  const name = obj.metadata.name ?? "";
  return [
    ...(opts.withNamespace && info.namespaced ? [obj.metadata.namespace ?? ""] : []),
    ...(cols.named !== false ? [opts.withKind ? `${qualifiedKind(info)}/${name}` : name] : []),
    ...kindCells(cols, obj, opts),
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
  const normal = new Set(headerRow(info, bare(0, false)));
  return headerRow(info, bare(0, true)).map((name) => ({
    name,
    // The column kubectl prefixes with the kind: NAME, even where it is a wide one (events).
    format: name === "NAME" ? "name" : "",
    priority: normal.has(name) ? 0 : 1,
  }));
}

/** One object's cells for every column of `tableColumns`. */
export function tableCells(info: ResourceInfo, obj: KubeObject, now: number): string[] {
  return objectRow(info, obj, bare(now, true));
}
