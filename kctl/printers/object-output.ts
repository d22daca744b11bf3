/**
 * `-o yaml|json|name|jsonpath=...` output: one object as itself, several as a `kind: List` like
 * kubectl (a JSONPath template runs over that too), names as `deployment.apps/web`.
 */

import { stringify } from "yaml";
import type { KubeObject } from "../../foundation/api/object.js";
import { qualifiedKind, type ResourceInfo } from "../../foundation/api/resources.js";
import { UsageError } from "../errors.js";
import { JsonPathError, parseJsonPath, renderJsonPath } from "./jsonpath.js";

/** A parsed `-o jsonpath=TEMPLATE`. */
export interface JsonPathFormat {
  jsonpath: ReturnType<typeof parseJsonPath>;
}

export type ObjectFormat = "yaml" | "json" | "name" | JsonPathFormat;

export interface Found {
  info: ResourceInfo;
  obj: KubeObject;
}

/** A `kind: List` holding `items`, as kubectl prints lists. */
function asList(items: readonly KubeObject[]): Record<string, unknown> {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

export function formatValue(value: unknown, format: "yaml" | "json"): string {
  // No anchors and aliases for objects that appear twice: kubectl's YAML never has them.
  return format === "json"
    ? `${JSON.stringify(value, null, 4)}\n`
    : stringify(value, { indentSeq: false, aliasDuplicateObjects: false });
}

export function nameOf(found: Found): string {
  return `${qualifiedKind(found.info)}/${found.obj.metadata.name ?? ""}`;
}

/** The object without `metadata.managedFields`, which kubectl hides unless asked to show them. */
function withoutManagedFields(obj: KubeObject): KubeObject {
  if (!("managedFields" in obj.metadata)) return obj;
  const { managedFields: _, ...metadata } = obj.metadata as KubeObject["metadata"] & {
    managedFields?: unknown;
  };
  return { ...obj, metadata };
}

/** Prints `found`; `single` means the user named exactly one object, so it is printed bare. */
export function formatObjects(found: readonly Found[], format: ObjectFormat, single: boolean): string {
  if (format === "name") return found.map((f) => `${nameOf(f)}\n`).join("");
  const objects = found.map((f) => withoutManagedFields(f.obj));
  const value = single && objects.length === 1 ? objects[0]! : asList(objects);
  return typeof format === "object" ? renderJsonPath(format.jsonpath, value) : formatValue(value, format);
}

const outputFormats = ["wide", "yaml", "json", "name"] as const;

/**
 * Reads `-o`: a table when absent or "wide", else an object format. Throws a usage error naming the
 * flag for anything else, or for a JSONPath template that does not parse.
 */
export function parseOutputFlag(text: string | undefined): ObjectFormat | undefined {
  if (text === undefined || text === "wide") return undefined;
  if (text === "yaml" || text === "json" || text === "name") return text;
  if (text.startsWith("jsonpath=")) {
    try {
      return { jsonpath: parseJsonPath(text.slice("jsonpath=".length)) };
    } catch (err) {
      if (err instanceof JsonPathError) throw new UsageError(`-o jsonpath: ${err.message}`);
      throw err;
    }
  }
  throw new UsageError(
    `invalid argument "${text}" for "-o, --output" flag: must be one of: ${outputFormats.join(", ")}, jsonpath=TEMPLATE`,
  );
}
