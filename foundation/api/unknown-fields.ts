/**
 * Finds the fields of a JSON value that the schema of a message (proto/api.proto) does not have,
 * and returns the value without them: the server side of `fieldValidation` (Ignore and Warn drop
 * unknown fields, Strict refuses them by name). Patch directives (`$patch`, `$setElementOrder/...`)
 * are not fields and are kept. Only shape is looked at; the codec judges types afterwards.
 */
import { type FieldDescriptor, schemaMessages as messages } from "./schema-descriptor.js";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export interface UnknownFields {
  /** Paths as upstream prints them: `spec.replicaz`, `spec.template.spec.containers[0].imag`. */
  paths: string[];
  /** The value without the unknown fields; the input is not changed. */
  pruned: unknown;
}

export function findUnknownFields(message: string, value: unknown): UnknownFields {
  const paths: string[] = [];
  const pruned = walkMessage(message, value, "", paths);
  return { paths, pruned };
}

function walkMessage(message: string, value: unknown, path: string, paths: string[]): unknown {
  const desc = messages[message];
  // Marker messages (IntOrString, Quantity, Time) hold scalars and have no fields to check.
  if (!desc || Object.keys(desc.fields).length === 0 || !isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key.startsWith("$")) {
      out[key] = v;
      continue;
    }
    const field = Object.hasOwn(desc.fields, key) ? desc.fields[key]! : undefined;
    if (!field) {
      paths.push(at);
      continue;
    }
    out[key] = walkField(field, v, at, paths);
  }
  return out;
}

function walkField(field: FieldDescriptor, value: unknown, path: string, paths: string[]): unknown {
  if (!messages[field.type]) return value;
  if (field.keyType !== undefined) {
    if (!isObject(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, walkMessage(field.type, v, `${path}.${k}`, paths)]),
    );
  }
  if (field.rule === "repeated") {
    if (!Array.isArray(value)) return value;
    return value.map((v, i) => walkMessage(field.type, v, `${path}[${i}]`, paths));
  }
  return walkMessage(field.type, value, path, paths);
}
