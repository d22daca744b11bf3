/**
 * Field sets as server-side apply keeps them in `metadata.managedFields` (FieldsV1): which fields of
 * an object a configuration sets, walked with the message types of proto/api.proto and the list
 * rules of api/schema-rules.ts. A field is `f:name`; an item of a keyed list `k:{"name":"web"}`; an
 * item of a set `v:"value"`; an atomic list, a scalar or a map value is a leaf.
 */
import { schemaMessages as messages } from "../../foundation/api/schema-descriptor.js";
import { listKeyDefaults, listRules } from "../../foundation/api/schema-rules.js";

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A path of FieldsV1 tokens, e.g. ["f:spec", "f:template", ..., `k:{"name":"web"}`, "f:image"]. */
export type FieldPath = readonly string[];

/** Paths are compared as their JSON text. */
export type FieldSet = Set<string>;

/** Fields the server sets itself, never owned by a manager. */
const serverOwned = new Set([
  "f:metadata/f:managedFields",
  "f:metadata/f:resourceVersion",
  "f:metadata/f:uid",
  "f:metadata/f:creationTimestamp",
  "f:metadata/f:generation",
  "f:metadata/f:name",
  "f:metadata/f:namespace",
  "f:apiVersion",
  "f:kind",
  "f:status",
]);

/** The key token of a keyed list item: `k:{...}` with the item's key fields in name order. */
export function itemKey(item: Record<string, unknown>, keys: readonly string[]): string {
  const present = [...keys].filter((k) => keyValue(item, k) !== undefined).sort();
  return `k:${JSON.stringify(Object.fromEntries(present.map((k) => [k, keyValue(item, k)])))}`;
}

function keyValue(item: Record<string, unknown>, key: string): unknown {
  return item[key] ?? listKeyDefaults[key];
}

/** Every path `config` (an object of `message`) sets, leaves and keyed items both. */
export function fieldSetOf(message: string, config: unknown): FieldSet {
  const out: FieldSet = new Set();
  walk(message, config, [], out);
  return out;
}

function walk(message: string, value: unknown, path: string[], out: FieldSet): void {
  const desc = messages[message];
  if (!desc || !isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields[key];
    if (!field || v === null || v === undefined) continue;
    const at = [...path, `f:${key}`];
    if (serverOwned.has(at.join("/"))) continue;
    const nested = messages[field.type] && Object.keys(messages[field.type]!.fields).length > 0;
    if (field.keyType !== undefined) {
      out.add(JSON.stringify(at));
      if (isObject(v)) {
        for (const [k, item] of Object.entries(v)) {
          const itemAt = [...at, `f:${k}`];
          out.add(JSON.stringify(itemAt));
          if (nested) walk(field.type, item, itemAt, out);
        }
      }
      continue;
    }
    if (field.rule === "repeated") {
      out.add(JSON.stringify(at));
      const rule = listRules[`${message}.${key}`];
      if (!rule || !Array.isArray(v)) continue;
      for (const item of v) {
        if (rule.type === "set") {
          out.add(JSON.stringify([...at, `v:${JSON.stringify(item)}`]));
        } else if (isObject(item)) {
          const itemAt = [...at, itemKey(item, rule.keys!)];
          out.add(JSON.stringify(itemAt));
          walk(field.type, item, itemAt, out);
        }
      }
      continue;
    }
    out.add(JSON.stringify(at));
    if (nested) walk(field.type, v, at, out);
  }
}

/** True when `path` has no descendant in `set`: a scalar, atomic list or emptied struct. */
export function isLeaf(set: FieldSet, path: string): boolean {
  const prefix = path.slice(0, -1);
  for (const p of set) if (p !== path && p.startsWith(prefix) && p[prefix.length] === ",") return false;
  return true;
}

/** FieldsV1 JSON: nested objects by token; keyed list items carry `.` for the item itself. */
export function toFieldsV1(set: FieldSet): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  for (const text of [...set].sort()) {
    const path = JSON.parse(text) as string[];
    let node: Record<string, unknown> = root;
    for (const token of path) {
      node[token] ??= {};
      node = node[token] as Record<string, unknown>;
    }
    if (path[path.length - 1]!.startsWith("k:")) node["."] = {};
  }
  return root;
}

export function fromFieldsV1(fields: unknown): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: unknown, path: string[]): void => {
    if (!isObject(node)) return;
    for (const [token, child] of Object.entries(node)) {
      if (token === ".") continue;
      const at = [...path, token];
      out.add(JSON.stringify(at));
      visit(child, at);
    }
  };
  visit(fields, []);
  return out;
}

/** The value at `path` in `obj`, or undefined. */
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const token of path) {
    if (cur === undefined) return undefined;
    cur = step(cur, token)?.value;
  }
  return cur;
}

/** Resolves one token against a container: the value and where it sits. */
export function step(container: unknown, token: string): { value: unknown; remove: () => void } | undefined {
  const kind = token.slice(0, 2);
  const rest = token.slice(2);
  if (kind === "f:" && isObject(container)) {
    if (!(rest in container)) return undefined;
    return { value: container[rest], remove: () => delete container[rest] };
  }
  if (!Array.isArray(container)) return undefined;
  let index = -1;
  if (kind === "k:") {
    const key = JSON.parse(rest) as Record<string, unknown>;
    index = container.findIndex(
      (item) =>
        isObject(item) &&
        Object.entries(key).every(([k, v]) => JSON.stringify(keyValue(item, k)) === JSON.stringify(v)),
    );
  } else if (kind === "v:") {
    index = container.findIndex((item) => JSON.stringify(item) === rest);
  }
  if (index < 0) return undefined;
  return { value: container[index], remove: () => container.splice(index, 1) };
}

/** Upstream's way of printing a path in a conflict: `.spec.template.spec.containers[name="web"].image`. */
export function describePath(path: FieldPath): string {
  return path
    .map((token) => {
      const rest = token.slice(2);
      if (token.startsWith("f:")) return `.${rest}`;
      if (token.startsWith("v:")) return `[${rest}]`;
      const key = JSON.parse(rest) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    })
    .join("");
}

interface Entry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/**
 * The managedFields after a write that is not an apply (create, update, patch) by `manager`: the
 * fields whose value the write set or changed become the manager's `Update` entry's, and leave
 * every other entry; fields the write removed leave every entry. Entries left empty are dropped.
 */
export function recordUpdate(
  message: string,
  old: unknown,
  next: unknown,
  entry: { manager: string; time: string; apiVersion: string },
  entries: readonly Entry[],
): Entry[] {
  const before = fieldSetOf(message, old);
  const after = fieldSetOf(message, next);
  const changed = [...after].filter((p) => {
    if (!before.has(p)) return true;
    if (!isLeaf(after, p)) return false;
    const tokens = JSON.parse(p) as string[];
    return JSON.stringify(valueAt(old, tokens)) !== JSON.stringify(valueAt(next, tokens));
  });
  const removed = [...before].filter((p) => !after.has(p));
  const out: Entry[] = [];
  let mine: FieldSet | undefined;
  for (const e of entries) {
    const fields = fromFieldsV1(e.fieldsV1);
    for (const p of [...changed, ...removed]) fields.delete(p);
    if (e.manager === entry.manager && e.operation === "Update" && !e.subresource) {
      mine = fields;
      continue;
    }
    if (fields.size > 0) out.push({ ...e, fieldsV1: toFieldsV1(fields) });
  }
  mine ??= new Set();
  for (const p of changed) mine.add(p);
  if (mine.size > 0) {
    out.push({
      manager: entry.manager,
      operation: "Update",
      apiVersion: entry.apiVersion,
      time: entry.time,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(mine),
    });
  }
  return out;
}
