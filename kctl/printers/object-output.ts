/**
 * `-o yaml|json|name` output: one object as itself, several as a `kind: List` like kubectl, names as
 * `deployment.apps/web`.
 */

import { stringify } from "yaml";
import type { KubeObject } from "../../controlplane/api/object.js";
import { qualifiedKind, type ResourceInfo } from "../../controlplane/api/resources.js";

export type ObjectFormat = "yaml" | "json" | "name";

export interface Found {
  info: ResourceInfo;
  obj: KubeObject;
}

/** A `kind: List` holding `items`, as kubectl prints lists. */
function asList(items: readonly KubeObject[]): Record<string, unknown> {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

export function formatValue(value: unknown, format: "yaml" | "json"): string {
  return format === "json" ? `${JSON.stringify(value, null, 4)}\n` : stringify(value, { indentSeq: false });
}

export function nameOf(found: Found): string {
  return `${qualifiedKind(found.info)}/${found.obj.metadata.name ?? ""}`;
}

/** Prints `found`; `single` means the user named exactly one object, so it is printed bare. */
export function formatObjects(found: readonly Found[], format: ObjectFormat, single: boolean): string {
  if (format === "name") return found.map((f) => `${nameOf(f)}\n`).join("");
  const value = single && found.length === 1 ? found[0]!.obj : asList(found.map((f) => f.obj));
  return formatValue(value, format);
}
