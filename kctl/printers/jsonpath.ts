/**
 * `-o jsonpath=TEMPLATE`, the part of kubectl's JSONPath scripts use: text with `{...}` actions
 * holding paths (`.a.b`, `['a.b']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `.*`, filters such as
 * `[?(@.type=="Ready")]` or `[?(@.ready)]`), string literals (`{"\n"}`) and `{range PATH}...{end}`.
 * Several results of one path print separated by spaces; maps and lists print as JSON; a missing
 * key prints nothing, as with kubectl's default --allow-missing-template-keys.
 */

export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JsonPathError";
  }
}

type Op = "==" | "!=" | "<" | ">" | "<=" | ">=";

type Step =
  | { kind: "field"; name: string }
  | { kind: "all" }
  | { kind: "index"; index: number }
  | { kind: "slice"; start: number | undefined; end: number | undefined }
  | { kind: "filter"; path: Step[]; op?: Op; value?: string | number };

type Node =
  | { kind: "text"; text: string }
  | { kind: "path"; path: Step[] }
  | { kind: "range"; path: Step[]; body: Node[] };

/** Parses a template; throws JsonPathError saying what is wrong and where. */
export function parseJsonPath(template: string): Node[] {
  const root: Node[] = [];
  const stack: { body: Node[]; at: number }[] = [{ body: root, at: 0 }];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{", i);
    const body = stack.at(-1)!.body;
    if (open < 0) {
      body.push({ kind: "text", text: template.slice(i) });
      break;
    }
    if (open > i) body.push({ kind: "text", text: template.slice(i, open) });
    const close = actionEnd(template, open);
    const action = template.slice(open + 1, close).trim();
    const at = open + 1;
    if (action === "end") {
      if (stack.length === 1) throw new JsonPathError(`{end} at column ${at} closes no {range}`);
      stack.pop();
    } else if (action.startsWith("range ")) {
      const node: Node = { kind: "range", path: parsePath(action.slice(6).trim(), at), body: [] };
      body.push(node);
      stack.push({ body: node.body, at });
    } else if (/^(["']).*\1$/s.test(action)) {
      body.push({ kind: "text", text: unquote(action) });
    } else {
      body.push({ kind: "path", path: parsePath(action, at) });
    }
    i = close + 1;
  }
  if (stack.length > 1) throw new JsonPathError(`{range} at column ${stack.at(-1)!.at} has no {end}`);
  return root;
}

/** Renders `template` (parsed) over `data`. */
export function renderJsonPath(nodes: readonly Node[], data: unknown): string {
  let out = "";
  for (const node of nodes) {
    if (node.kind === "text") out += node.text;
    else if (node.kind === "path") out += evaluate(node.path, data).map(show).join(" ");
    else {
      let items = evaluate(node.path, data);
      if (items.length === 1 && Array.isArray(items[0])) items = items[0] as unknown[];
      for (const item of items) out += renderJsonPath(node.body, item);
    }
  }
  return out;
}

function actionEnd(template: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < template.length; j++) {
    const ch = template[j]!;
    if (quote) {
      if (ch === "\\") j++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "}") return j;
  }
  throw new JsonPathError(`the action at column ${open + 1} has no closing }`);
}

function unquote(text: string): string {
  const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r" };
  return text.slice(1, -1).replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

function parsePath(text: string, at: number): Step[] {
  const bad = (why: string) => new JsonPathError(`"${text}" at column ${at}: ${why}`);
  let s = text.startsWith("$") || text.startsWith("@") ? text.slice(1) : text;
  if (s === "") return [];
  if (!s.startsWith(".") && !s.startsWith("[")) throw bad("a path starts with . or [");
  const steps: Step[] = [];
  while (s.length > 0) {
    if (s.startsWith(".")) {
      const m = /^\.(\*|[^.[\]\s]+)/.exec(s);
      if (!m) throw bad("expected a field name after .");
      steps.push(m[1] === "*" ? { kind: "all" } : { kind: "field", name: m[1]! });
      s = s.slice(m[0].length);
      continue;
    }
    const close = bracketEnd(s);
    if (close < 0) throw bad("a [ has no closing ]");
    steps.push(parseBracket(s.slice(1, close).trim(), bad));
    s = s.slice(close + 1);
  }
  return steps;
}

function bracketEnd(s: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let j = 0; j < s.length; j++) {
    const ch = s[j]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "[") depth++;
    else if (ch === "]" && --depth === 0) return j;
  }
  return -1;
}

function parseBracket(inner: string, bad: (why: string) => JsonPathError): Step {
  if (inner === "*") return { kind: "all" };
  if (/^-?\d+$/.test(inner)) return { kind: "index", index: Number(inner) };
  const slice = /^(-?\d*):(-?\d*)$/.exec(inner);
  if (slice) {
    const num = (t: string) => (t === "" ? undefined : Number(t));
    return { kind: "slice", start: num(slice[1]!), end: num(slice[2]!) };
  }
  if (/^(["']).*\1$/.test(inner)) return { kind: "field", name: inner.slice(1, -1) };
  const filter = /^\?\((.*)\)$/s.exec(inner);
  if (filter) {
    const m = /^(@[^\s=!<>]*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$/.exec(filter[1]!.trim());
    if (!m) throw bad(`cannot read the filter "${inner}"`);
    const path = parsePath(m[1]!, 0);
    if (!m[2]) return { kind: "filter", path };
    const raw = m[3]!.trim();
    const value = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : Number(raw);
    if (typeof value === "number" && Number.isNaN(value))
      throw bad(`the filter compares with "${raw}", not a string or number`);
    return { kind: "filter", path, op: m[2] as Op, value };
  }
  throw bad(`cannot read "[${inner}]"`);
}

function evaluate(path: readonly Step[], data: unknown): unknown[] {
  let values = [data];
  for (const step of path) values = values.flatMap((v) => apply(step, v));
  return values;
}

function apply(step: Step, v: unknown): unknown[] {
  switch (step.kind) {
    case "field":
      return isRecord(v) && v[step.name] !== undefined ? [v[step.name]] : [];
    case "all":
      return Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : [];
    case "index": {
      if (!Array.isArray(v)) return [];
      const item = v[step.index < 0 ? v.length + step.index : step.index];
      return item === undefined ? [] : [item];
    }
    case "slice":
      return Array.isArray(v) ? v.slice(step.start, step.end) : [];
    case "filter":
      return Array.isArray(v) ? v.filter((item) => matches(step, item)) : [];
  }
}

function matches(step: Extract<Step, { kind: "filter" }>, item: unknown): boolean {
  const found = evaluate(step.path, item);
  if (step.op === undefined) return found.length > 0 && found[0] !== false && found[0] !== null;
  if (found.length === 0) return step.op === "!=";
  const a = found[0];
  const b = step.value!;
  switch (step.op) {
    case "==":
      return String(a) === String(b);
    case "!=":
      return String(a) !== String(b);
    default: {
      const [x, y] = typeof b === "number" ? [Number(a), b] : [String(a), b];
      return step.op === "<" ? x < y : step.op === ">" ? x > y : step.op === "<=" ? x <= y : x >= y;
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
}
