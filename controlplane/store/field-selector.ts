/**
 * Field selectors (`?fieldSelector=spec.nodeName=node-1,status.phase!=Failed`): parsing against the
 * fields each kind supports, and matching. Like Kubernetes, only a few indexed-looking fields per kind
 * are selectable; `spec.nodeName=` (empty value) selects unbound pods.
 */
import { ApiError } from "../../foundation/api/errors.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

/** A conjunction of requirements; with none it matches every object. */
export interface FieldSelector {
  requirements: readonly FieldRequirement[];
}

const common = ["metadata.name", "metadata.namespace"];

const byKind: Record<string, readonly string[]> = {
  Pod: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP"],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "type",
  ],
  Node: ["spec.unschedulable"],
  Namespace: ["status.phase"],
  Secret: ["type"],
};

/** The fields `parseFieldSelector` accepts for a resource. */
export function selectableFields(info: ResourceInfo): readonly string[] {
  return [...common, ...(byKind[info.kind] ?? [])];
}

/**
 * Parses the string form. An empty string selects everything. Throws `ApiError("BadRequest")` naming
 * the term for bad syntax and listing the supported fields for an unknown one.
 */
export function parseFieldSelector(text: string, info: ResourceInfo): FieldSelector {
  const supported = selectableFields(info);
  const requirements: FieldRequirement[] = [];
  for (const raw of text.split(",")) {
    const term = raw.trim();
    if (term === "") continue;
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) {
      throw new ApiError(
        "BadRequest",
        `invalid field selector ${JSON.stringify(text)}: term ${JSON.stringify(term)} must look like field=value, field==value or field!=value`,
      );
    }
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!supported.includes(field)) {
      throw new ApiError(
        "BadRequest",
        `field label not supported: ${JSON.stringify(field)} is not a known field selector for ${info.plural}: only ${supported.map((f) => JSON.stringify(f)).join(", ")}`,
      );
    }
    requirements.push({ field, operator: op === "!=" ? "!=" : "=", value: value.trim() });
  }
  return { requirements };
}

/** True when every requirement holds; an absent field reads as "". */
export function matchesFieldSelector(sel: FieldSelector, obj: unknown): boolean {
  return sel.requirements.every(
    (req) => (fieldValue(obj, req.field) === req.value) === (req.operator === "="),
  );
}

function fieldValue(obj: unknown, path: string): string {
  let at: unknown = obj;
  for (const part of path.split(".")) {
    if (typeof at !== "object" || at === null) return "";
    at = (at as Record<string, unknown>)[part];
  }
  if (at === undefined || at === null) return "";
  return typeof at === "object" ? JSON.stringify(at) : String(at);
}
