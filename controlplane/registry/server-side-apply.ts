/**
 * Server-side apply (`application/apply-patch+yaml`): a manager sends the fields it wants set; the
 * server merges them into the object (keyed lists item by item, sets as sets, atomic lists and
 * scalars replaced, per api/schema-rules.ts), records them as the manager's in
 * `metadata.managedFields`, removes the fields the manager applied before and no longer does (unless
 * another manager owns them too), and refuses with 409 to change a value another manager owns
 * unless forced, in which case ownership moves to the applier.
 */

import { ApiError, type FieldCause } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { schemaMessages as messages } from "../../foundation/api/schema-descriptor.js";
import { listRules } from "../../foundation/api/schema-rules.js";
import type { ManagedFieldsEntry } from "../../proto/gen/api.js";
import {
  describePath,
  fieldSetOf,
  fromFieldsV1,
  isLeaf,
  isObject,
  itemKey,
  step,
  toFieldsV1,
  valueAt,
} from "./managed-fields.js";

export interface ApplyRequest {
  /** The `fieldManager` query parameter; required. */
  manager: string;
  /** The `force` query parameter: take over conflicting fields. */
  force: boolean;
  /** RFC 3339, recorded as the entry's time. */
  now: string;
  /** apiVersion of the object, recorded in the entry. */
  apiVersion: string;
}

/**
 * The object after `config` (an applied configuration of message `message`) is applied to
 * `current` (undefined when the object does not exist yet). Neither input is changed.
 */
export function serverSideApply(
  message: string,
  current: KubeObject | undefined,
  config: Record<string, unknown>,
  req: ApplyRequest,
): KubeObject {
  const applied = fieldSetOf(message, config);
  const entries = (current?.metadata.managedFields ?? []).map((e) => ({
    entry: e,
    fields: fromFieldsV1(e.fieldsV1),
    mine: e.manager === req.manager && e.operation === "Apply",
  }));
  const conflicts: FieldCause[] = [];
  const force = req.force || upgradesClientSideApply(message, current, applied, entries);
  for (const other of entries.filter((e) => !e.mine)) {
    for (const path of applied) {
      if (!other.fields.has(path) || !isLeaf(applied, path)) continue;
      const tokens = JSON.parse(path) as string[];
      const wanted = valueAt(config, tokens);
      // A struct or map is only a container of fields; its own fields are compared, never itself.
      if (isObject(wanted)) continue;
      if (JSON.stringify(valueAt(current, tokens)) === JSON.stringify(wanted)) continue;
      if (force) other.fields.delete(path);
      else
        conflicts.push({
          reason: "FieldManagerConflict",
          message: `conflict with ${JSON.stringify(other.entry.manager)}`,
          field: describePath(tokens),
        });
    }
  }
  if (conflicts.length > 0) {
    const list = conflicts.map((c) => `${c.message}: ${c.field}`).join("\n- ");
    throw new ApiError(
      "Conflict",
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${conflicts.length > 1 ? `\n- ${list}` : list}`,
      { causes: conflicts },
    );
  }
  const next = structuredClone(current ?? {}) as Record<string, unknown>;
  const previously = entries.find((e) => e.mine)?.fields ?? new Set<string>();
  const others = entries.filter((e) => !e.mine);
  const dropped = [...previously]
    .filter((p) => !applied.has(p) && !others.some((o) => o.fields.has(p)))
    .map((p) => JSON.parse(p) as string[])
    // A dropped item or struct goes whole, before its fields: once its fields are gone a keyed item
    // could no longer be found by its key. Nothing beneath it is another manager's, since owning a
    // field means owning the path to it.
    .sort((a, b) => a.length - b.length);
  for (const path of dropped) removeAt(next, path);
  mergeInto(message, next, config);
  const kept: ManagedFieldsEntry[] = others
    .filter((o) => o.fields.size > 0)
    .map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.fields) }));
  kept.push({
    manager: req.manager,
    operation: "Apply",
    apiVersion: req.apiVersion,
    time: req.now,
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(applied),
  });
  const obj = next as unknown as KubeObject;
  obj.metadata = { ...(obj.metadata ?? {}), managedFields: kept };
  return obj;
}

const clientSideApplyManager = "kubectl-client-side-apply";
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * Upstream's path from client-side to server-side apply: an apply whose only conflicts would be
 * with fields client-side apply set, and that its last-applied configuration still holds, takes them
 * over without a conflict (kube-apiserver's lastAppliedManager); kubectl then moves the rest of the
 * client-side entry to its own.
 */
function upgradesClientSideApply(
  message: string,
  current: KubeObject | undefined,
  applied: Set<string>,
  entries: { entry: ManagedFieldsEntry; fields: Set<string>; mine: boolean }[],
): boolean {
  const text = current?.metadata.annotations?.[lastAppliedAnnotation];
  if (!text) return false;
  let lastApplied: Set<string>;
  try {
    lastApplied = fieldSetOf(message, JSON.parse(text));
  } catch {
    return false;
  }
  for (const other of entries.filter((e) => !e.mine)) {
    const shared = [...applied].filter((p) => other.fields.has(p) && isLeaf(applied, p));
    if (shared.length === 0) continue;
    if (other.entry.manager !== clientSideApplyManager) return false;
    if (!shared.every((p) => lastApplied.has(p))) return false;
  }
  return true;
}

function removeAt(obj: unknown, path: string[]): void {
  let cur: unknown = obj;
  for (const token of path.slice(0, -1)) {
    cur = step(cur, token)?.value;
    if (cur === undefined) return;
  }
  step(cur, path[path.length - 1]!)?.remove();
}

/** Merges `config` into `target` in place, by the message's field types and list rules. */
function mergeInto(message: string, target: Record<string, unknown>, config: Record<string, unknown>): void {
  const desc = messages[message];
  for (const [key, value] of Object.entries(config)) {
    const field = desc?.fields[key];
    const nested = field && messages[field.type] && Object.keys(messages[field.type]!.fields).length > 0;
    if (!field || value === null || (!nested && field.keyType === undefined && field.rule !== "repeated")) {
      target[key] = structuredClone(value);
      continue;
    }
    if (field.keyType !== undefined) {
      const map = isObject(target[key]) ? (target[key] as Record<string, unknown>) : {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (nested && isObject(v) && isObject(map[k]))
          mergeInto(field.type, map[k] as Record<string, unknown>, v);
        else map[k] = structuredClone(v);
      }
      target[key] = map;
      continue;
    }
    if (field.rule === "repeated") {
      target[key] = mergeList(field.type, listRules[`${message}.${key}`], target[key], value);
      continue;
    }
    if (!isObject(target[key])) target[key] = {};
    mergeInto(field.type, target[key] as Record<string, unknown>, value as Record<string, unknown>);
  }
}

function mergeList(
  itemMessage: string,
  rule: (typeof listRules)[string] | undefined,
  current: unknown,
  applied: unknown,
): unknown {
  if (!rule || !Array.isArray(current) || !Array.isArray(applied)) return structuredClone(applied);
  const out = structuredClone(current) as unknown[];
  for (const item of applied) {
    if (rule.type === "set") {
      if (!out.some((v) => JSON.stringify(v) === JSON.stringify(item))) out.push(structuredClone(item));
      continue;
    }
    if (!isObject(item)) continue;
    const key = itemKey(item, rule.keys!);
    const found = step(out, key);
    if (found && isObject(found.value)) mergeInto(itemMessage, found.value, item);
    else out.push(structuredClone(item));
  }
  return out;
}
