/**
 * Label selectors and label syntax, as Kubernetes defines them. Owns the string form used in
 * `?labelSelector=` and `kctl get -l` (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), the object form in
 * specs (`matchLabels` + `matchExpressions`), matching, canonical formatting, and the key/value
 * validators that object validation reuses. Bad syntax is an `ApiError("BadRequest")` whose message
 * names the selector and the position.
 */

import { ApiError } from "./errors.js";

export type Operator = "Equals" | "NotEquals" | "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";

export interface Requirement {
  key: string;
  operator: Operator;
  /** One value for Equals/NotEquals/Gt/Lt, one or more for In/NotIn, none for Exists/DoesNotExist. */
  values: readonly string[];
}

/** A conjunction of requirements; with none it matches every object. Requirements are sorted by key. */
export interface Selector {
  requirements: readonly Requirement[];
}

/** The object form found in `spec.selector` (mirrors kctl.api.LabelSelector). */
export interface LabelSelectorInput {
  matchLabels?: Record<string, string>;
  matchExpressions?: readonly { key?: string; operator?: string; values?: readonly string[] }[];
}

export const everything: Selector = { requirements: [] };

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePartRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Errors for a DNS-1123 label (namespace and service names): empty list when valid. */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!dns1123LabelRe.test(value)) {
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')",
    );
  }
  return errs;
}

/** Errors for a DNS-1123 subdomain (most object names, label key prefixes): empty list when valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!dns1123SubdomainRe.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
    );
  }
  return errs;
}

/**
 * Errors for a qualified name such as a label or annotation key: an optional DNS-1123 subdomain
 * prefix and '/', then a name of at most 63 characters of alphanumerics, '-', '_' and '.' that
 * starts and ends with an alphanumeric.
 */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const e of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push("name part must be no more than 63 characters");
  if (name.length > 0 && !qualifiedNamePartRe.test(name)) {
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')",
    );
  }
  return errs;
}

/** Errors for a label value: empty, or at most 63 characters shaped like a qualified name part. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (value.length > 0 && !qualifiedNamePartRe.test(value)) {
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')",
    );
  }
  return errs;
}

type TokenKind = "ident" | "in" | "notin" | "=" | "==" | "!=" | "!" | "(" | ")" | "," | ">" | "<" | "end";

interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
}

const punctuation = new Set(["=", "!", "(", ")", ",", ">", "<"]);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "==" || two === "!=") {
      tokens.push({ kind: two, text: two, pos: i });
      i += 2;
    } else if (punctuation.has(c)) {
      tokens.push({ kind: c as TokenKind, text: c, pos: i });
      i++;
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!) && !punctuation.has(text[i]!)) i++;
      const word = text.slice(start, i);
      const kind: TokenKind = word === "in" ? "in" : word === "notin" ? "notin" : "ident";
      tokens.push({ kind, text: word, pos: start });
    }
  }
  tokens.push({ kind: "end", text: "", pos: text.length });
  return tokens;
}

/**
 * Parses the string form of a label selector. An empty or blank string selects everything.
 * Throws `ApiError("BadRequest")` naming the selector, the position and what was expected.
 */
export function parseSelector(text: string): Selector {
  const tokens = lex(text);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const fail = (what: string, tok: Token = peek()): never => {
    const found = tok.kind === "end" ? "end of input" : `"${tok.text}"`;
    throw new ApiError(
      "BadRequest",
      `unable to parse label selector "${text}": ${what} at position ${tok.pos}, found ${found}`,
    );
  };
  const key = (): string => {
    const tok = peek();
    if (tok.kind !== "ident") return fail("expected a label key");
    const errs = qualifiedNameErrors(tok.text);
    if (errs.length > 0) fail(`invalid label key "${tok.text}": ${errs.join("; ")}`, tok);
    at++;
    return tok.text;
  };
  const value = (optional: boolean): string => {
    const tok = peek();
    if (tok.kind !== "ident") {
      if (optional && (tok.kind === "," || tok.kind === "end")) return "";
      return fail("expected a label value");
    }
    const errs = labelValueErrors(tok.text);
    if (errs.length > 0) fail(`invalid label value "${tok.text}": ${errs.join("; ")}`, tok);
    at++;
    return tok.text;
  };
  const requirement = (): Requirement => {
    if (peek().kind === "!") {
      at++;
      return { key: key(), operator: "DoesNotExist", values: [] };
    }
    const k = key();
    const op = peek();
    switch (op.kind) {
      case ",":
      case "end":
        return { key: k, operator: "Exists", values: [] };
      case "=":
      case "==":
        at++;
        return { key: k, operator: "Equals", values: [value(true)] };
      case "!=":
        at++;
        return { key: k, operator: "NotEquals", values: [value(true)] };
      case ">":
      case "<": {
        at++;
        const tok = peek();
        const v = value(false);
        if (!/^-?\d+$/.test(v)) fail(`expected an integer after "${op.text}"`, tok);
        return { key: k, operator: op.kind === ">" ? "Gt" : "Lt", values: [v] };
      }
      case "in":
      case "notin": {
        at++;
        if (peek().kind !== "(") fail(`expected "(" after "${op.text}"`);
        at++;
        const values: string[] = [];
        for (;;) {
          values.push(value(false));
          if (peek().kind === ")") break;
          if (peek().kind !== ",") fail(`expected "," or ")" in the value list of "${k}"`);
          at++;
        }
        at++;
        return { key: k, operator: op.kind === "in" ? "In" : "NotIn", values: sortedUnique(values) };
      }
      default:
        return fail(`expected an operator (=, ==, !=, in, notin, >, <) or "," after "${k}"`);
    }
  };

  const requirements: Requirement[] = [];
  if (peek().kind === "end") return everything;
  for (;;) {
    requirements.push(requirement());
    if (peek().kind === "end") break;
    if (peek().kind !== ",") fail('expected "," between requirements');
    at++;
  }
  return { requirements: sortByKey(requirements) };
}

/**
 * Converts the object form (`matchLabels`, `matchExpressions`) to a Selector. An empty object selects
 * everything. Throws `ApiError("BadRequest")` for an unknown operator, a missing or superfluous
 * value list, or bad key/value syntax; the message names the offending field.
 */
export function selectorFromLabelSelector(ls: LabelSelectorInput): Selector {
  const requirements: Requirement[] = [];
  const bad = (field: string, why: string): never => {
    throw new ApiError("BadRequest", `invalid label selector: ${field}: ${why}`);
  };
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) {
    const keyErrs = qualifiedNameErrors(k);
    if (keyErrs.length > 0) bad(`matchLabels`, `invalid key "${k}": ${keyErrs.join("; ")}`);
    const valErrs = labelValueErrors(v);
    if (valErrs.length > 0) bad(`matchLabels.${k}`, `invalid value "${v}": ${valErrs.join("; ")}`);
    requirements.push({ key: k, operator: "Equals", values: [v] });
  }
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    const field = `matchExpressions[${i}]`;
    const key = expr.key ?? "";
    const keyErrs = qualifiedNameErrors(key);
    if (keyErrs.length > 0) bad(`${field}.key`, `invalid key "${key}": ${keyErrs.join("; ")}`);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0)
          bad(`${field}.values`, `must be specified when operator is "${expr.operator}"`);
        values.forEach((v, j) => {
          const errs = labelValueErrors(v);
          if (errs.length > 0) bad(`${field}.values[${j}]`, `invalid value "${v}": ${errs.join("; ")}`);
        });
        requirements.push({ key, operator: expr.operator, values: sortedUnique(values) });
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0)
          bad(`${field}.values`, `may not be specified when operator is "${expr.operator}"`);
        requirements.push({ key, operator: expr.operator, values: [] });
        break;
      default:
        bad(
          `${field}.operator`,
          `Unsupported value: "${expr.operator}": supported values: "In", "NotIn", "Exists", "DoesNotExist"`,
        );
    }
  });
  return { requirements: sortByKey(requirements) };
}

/** True when every requirement holds for `labels` (absent labels satisfy NotEquals/NotIn/DoesNotExist). */
/** True when every requirement holds for `labels` (absent labels satisfy NotEquals/NotIn/DoesNotExist). */
export function matchesSelector(
  sel: Selector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return sel.requirements.every((req) =>
    holds(req, labels && Object.hasOwn(labels, req.key) ? labels[req.key] : undefined),
  );
}

function holds(req: Requirement, v: string | undefined): boolean {
  switch (req.operator) {
    case "Equals":
    case "In":
      return v !== undefined && req.values.includes(v);
    case "NotEquals":
    case "NotIn":
      return v === undefined || !req.values.includes(v);
    case "Exists":
      return v !== undefined;
    case "DoesNotExist":
      return v === undefined;
    case "Gt":
    case "Lt": {
      if (v === undefined || !/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      const bound = Number(req.values[0]);
      return req.operator === "Gt" ? n > bound : n < bound;
    }
  }
}

/** The canonical string form, which `parseSelector` reads back to an equal Selector. */
export function formatSelector(sel: Selector): string {
  return sel.requirements.map(formatRequirement).join(",");
}

function formatRequirement(req: Requirement): string {
  switch (req.operator) {
    case "Equals":
      return `${req.key}=${req.values[0]}`;
    case "NotEquals":
      return `${req.key}!=${req.values[0]}`;
    case "In":
      return `${req.key} in (${req.values.join(",")})`;
    case "NotIn":
      return `${req.key} notin (${req.values.join(",")})`;
    case "Exists":
      return req.key;
    case "DoesNotExist":
      return `!${req.key}`;
    case "Gt":
      return `${req.key}>${req.values[0]}`;
    case "Lt":
      return `${req.key}<${req.values[0]}`;
  }
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

// Stable sort keeps several requirements on one key in their written order.
function sortByKey(reqs: Requirement[]): Requirement[] {
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
