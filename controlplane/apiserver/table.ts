/**
 * Server-side printing, as kube-apiserver does it: a GET whose Accept asks for
 * `application/json;as=Table;v=v1;g=meta.k8s.io` (what kubectl get sends) is answered with a
 * `meta.k8s.io/v1` Table of the kind's columns instead of the objects, each row carrying the
 * object's metadata (`includeObject=Metadata`, the default), the whole object, or nothing. A watch
 * that asks for it gets each event's object as a one-row Table, columns defined in the first.
 */
import type { KubeObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import { tableCells, tableColumns } from "../../foundation/printers/columns.js";

/** The Table version the client accepts ("v1" or "v1beta1"), or undefined when it wants objects. */
export function acceptedTableVersion(accept: string | undefined): string | undefined {
  for (const type of (accept ?? "").split(",")) {
    const params = new Map(
      type
        .split(";")
        .slice(1)
        .map((p) => p.trim().split("=") as [string, string]),
    );
    const version = params.get("v");
    if (
      params.get("as") === "Table" &&
      params.get("g") === "meta.k8s.io" &&
      (version === "v1" || version === "v1beta1")
    )
      return version;
  }
  return undefined;
}

export type IncludeObject = "None" | "Metadata" | "Object";

export function includeObjectParam(query: URLSearchParams): IncludeObject {
  const v = query.get("includeObject") ?? "Metadata";
  return v === "None" || v === "Object" ? v : "Metadata";
}

export function toTable(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  opts: {
    version: string;
    /** The list's metadata (resourceVersion, and continue on a page); none for a single object. */
    listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
    include: IncludeObject;
    now: number;
    /** False leaves out the column definitions (watch events after the first, as Kubernetes does). */
    columns?: boolean;
  },
): object {
  const apiVersion = `meta.k8s.io/${opts.version}`;
  return {
    kind: "Table",
    apiVersion,
    metadata: opts.listMeta ?? {},
    ...(opts.columns === false
      ? {}
      : {
          columnDefinitions: tableColumns(info).map((c) => ({
            name: c.name,
            type: "string",
            format: c.format,
            description: "",
            priority: c.priority,
          })),
        }),
    rows: objects.map((obj) => ({
      cells: tableCells(info, obj, opts.now),
      ...(opts.include === "None"
        ? {}
        : {
            object:
              opts.include === "Object"
                ? obj
                : { kind: "PartialObjectMetadata", apiVersion, metadata: obj.metadata },
          }),
    })),
  };
}
