/**
 * JSON Patch (RFC 6902): a list of operations (add, remove, replace, move, copy, test) on JSON
 * Pointer paths (RFC 6901), applied in order to a copy of the target; the patch applies as a whole
 * or not at all. A malformed document is BadRequest (400); an operation that cannot apply (a failed
 * `test`, a missing path) is Invalid (422), as upstream answers, and names the operation's index.
 */
import { ApiError } from "../../foundation/api/errors.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

interface Operation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: Json;
}

const ops = new Set(["add", "remove", "replace", "move", "copy", "test"]);

/** Checks the shape of a JSON Patch document; throws BadRequest naming the first bad operation. */
export function parseJsonPatch(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw bad("a JSON Patch must be a JSON array of operations");
  return patch.map((raw, i) => {
    const at = `operation ${i}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(`${at}: must be an object`);
    const o = raw as Record<string, unknown>;
    if (typeof o.op !== "string" || !ops.has(o.op)) {
      throw bad(
        `${at}: "op" must be one of add, remove, replace, move, copy, test; got ${JSON.stringify(o.op)}`,
      );
    }
    if (typeof o.path !== "string") throw bad(`${at} (${o.op}): "path" must be a string`);
    pointer(o.path, `${at} (${o.op}): path`);
    if ((o.op === "move" || o.op === "copy") && typeof o.from !== "string") {
      throw bad(`${at} (${o.op}): "from" must be a string`);
    }
    if ((o.op === "add" || o.op === "replace" || o.op === "test") && !("value" in o)) {
      throw bad(`${at} (${o.op}): "value" is required`);
    }
    return o as unknown as Operation;
  });
}

/** Applies `patch` to a deep copy of `target`; `target` is never changed. */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  const operations = parseJsonPatch(patch);
  let doc = structuredClone(target) as Json;
  operations.forEach((op, i) => {
    const at = `JSON Patch operation ${i} (${op.op} ${op.path})`;
    switch (op.op) {
      case "add":
        doc = add(doc, pointer(op.path, at), structuredClone(op.value!), at);
        return;
      case "remove":
        doc = remove(doc, pointer(op.path, at), at).doc;
        return;
      case "replace": {
        const tokens = pointer(op.path, at);
        doc = add(remove(doc, tokens, at).doc, tokens, structuredClone(op.value!), at);
        return;
      }
      case "move": {
        const from = pointer(op.from!, at);
        if (op.path.startsWith(`${op.from}/`)) throw failed(`${at}: cannot move a value into itself`);
        const removed = remove(doc, from, at);
        doc = add(removed.doc, pointer(op.path, at), removed.value, at);
        return;
      }
      case "copy":
        doc = add(doc, pointer(op.path, at), structuredClone(get(doc, pointer(op.from!, at), at)), at);
        return;
      case "test": {
        const actual = get(doc, pointer(op.path, at), at);
        if (!equal(actual, op.value!)) {
          throw failed(
            `${at}: test failed: the value is ${JSON.stringify(actual)}, not ${JSON.stringify(op.value)}`,
          );
        }
        return;
      }
    }
  });
  return doc;
}

/** RFC 6901: "" is the whole document; "/a/b~1c" is ["a", "b/c"]. */
function pointer(path: string, at: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/"))
    throw bad(`${at}: ${JSON.stringify(path)} is not a JSON Pointer (must start with "/")`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function isContainer(v: Json | undefined): v is Container {
  return typeof v === "object" && v !== null;
}

/** The container that holds the last token, and that token. */
function parent(doc: Json, tokens: string[], at: string): { holder: Container; key: string } {
  let cur: Json | undefined = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = isContainer(cur) ? child(cur, t, at) : undefined;
    if (cur === undefined) throw failed(`${at}: the path does not exist`);
  }
  if (!isContainer(cur)) throw failed(`${at}: the path does not exist`);
  return { holder: cur, key: tokens[tokens.length - 1]! };
}

function child(c: Container, token: string, at: string): Json | undefined {
  if (Array.isArray(c)) return c[arrayIndex(token, c.length - 1, at)];
  return Object.hasOwn(c, token) ? c[token] : undefined;
}

function arrayIndex(token: string, max: number, at: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > max) {
    throw failed(`${at}: array index ${JSON.stringify(token)} is out of range`);
  }
  return Number(token);
}

function get(doc: Json, tokens: string[], at: string): Json {
  if (tokens.length === 0) return doc;
  const { holder, key } = parent(doc, tokens, at);
  const value = child(holder, key, at);
  if (value === undefined) throw failed(`${at}: the path does not exist`);
  return value;
}

function add(doc: Json, tokens: string[], value: Json, at: string): Json {
  if (tokens.length === 0) return value;
  const { holder, key } = parent(doc, tokens, at);
  if (Array.isArray(holder)) {
    holder.splice(key === "-" ? holder.length : arrayIndex(key, holder.length, at), 0, value);
  } else {
    holder[key] = value;
  }
  return doc;
}

function remove(doc: Json, tokens: string[], at: string): { doc: Json; value: Json } {
  if (tokens.length === 0) throw failed(`${at}: cannot remove the whole document`);
  const { holder, key } = parent(doc, tokens, at);
  if (Array.isArray(holder)) {
    const [value] = holder.splice(arrayIndex(key, holder.length - 1, at), 1);
    return { doc, value: value! };
  }
  if (!Object.hasOwn(holder, key)) throw failed(`${at}: the path does not exist`);
  const value = holder[key]!;
  delete holder[key];
  return { doc, value };
}

function equal(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => equal(v, b[i]!));
  if (!isContainer(a) || !isContainer(b) || Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
}

function bad(message: string): ApiError {
  return new ApiError("BadRequest", message);
}

function failed(message: string): ApiError {
  return new ApiError(
    "Invalid",
    `the server rejected our request due to an error in our request: ${message}`,
  );
}
