/**
 * The shared pieces of object validation: a collector of FieldCauses with Kubernetes' reasons and
 * message shapes ("Required value", "Invalid value: 70000: must be between 1 and 65535, inclusive",
 * "Unsupported value: ..."), field path builders, and the syntax checks several kinds share (names,
 * ports, IPs, percents, config keys, labels, quantities).
 */

import { isIP } from "node:net";
import { describeValue } from "../describe-value.js";
import type { FieldCause } from "../errors.js";
import { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from "../labels.js";
import { quantityError } from "../quantity.js";

export const child = (path: string, name: string): string => (path ? `${path}.${name}` : name);
export const index = (path: string, i: number): string => `${path}[${i}]`;
export const key = (path: string, k: string): string => `${path}[${k}]`;

/** Collects every problem of one object; validators append and never stop at the first. */
export class Causes {
  readonly list: FieldCause[] = [];

  private add(field: string, reason: string, message: string): void {
    this.list.push({ field, reason, message });
  }

  required(field: string, detail?: string): void {
    this.add(field, "FieldValueRequired", detail ? `Required value: ${detail}` : "Required value");
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.add(field, "FieldValueInvalid", `Invalid value: ${describeValue(value)}: ${detail}`);
  }

  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    const list = supported.map((s) => JSON.stringify(s)).join(", ");
    this.add(
      field,
      "FieldValueNotSupported",
      `Unsupported value: ${describeValue(value)}: supported values: ${list}`,
    );
  }

  duplicate(field: string, value: unknown): void {
    this.add(field, "FieldValueDuplicate", `Duplicate value: ${describeValue(value)}`);
  }

  notFound(field: string, value: unknown): void {
    this.add(field, "FieldValueNotFound", `Not found: ${describeValue(value)}`);
  }

  forbidden(field: string, detail: string): void {
    this.add(field, "FieldValueForbidden", `Forbidden: ${detail}`);
  }

  tooLong(field: string, max: number, unit = "bytes"): void {
    this.add(field, "FieldValueTooLong", `Too long: may not be more than ${max} ${unit}`);
  }

  immutable(field: string, value: unknown): void {
    this.invalid(field, value, "field is immutable");
  }

  /** Records each message of a syntax check as one Invalid cause. */
  syntax(field: string, value: unknown, errors: readonly string[]): void {
    for (const e of errors) this.invalid(field, value, e);
  }
}

const dns1035LabelRe = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ianaSvcNameRe = /^[-a-z0-9]+$/;
const envVarNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const configKeyRe = /^[-._a-zA-Z0-9]+$/;
const percentRe = /^[0-9]+%$/;

/** DNS-1035 label: a DNS label that starts with a letter (Service names). */
export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push("must be no more than 63 characters");
  if (!dns1035LabelRe.test(value)) {
    errs.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')",
    );
  }
  return errs;
}

/** IANA service name: how ports are named (at most 15 characters, at least one letter, no "--"). */
export function ianaSvcNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push("must be no more than 15 characters");
  if (!ianaSvcNameRe.test(value))
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (value.includes("--")) errs.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(value)) errs.push("must contain at least one letter (a-z)");
  if (value.startsWith("-") || value.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

export function envVarNameErrors(value: string): string[] {
  return envVarNameRe.test(value)
    ? []
    : [
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1')",
      ];
}

/** ConfigMap and Secret keys (also envFrom keys and projected item keys). */
export function configKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push("must be no more than 253 characters");
  if (!configKeyRe.test(value)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name')",
    );
  }
  if (value === "." || value === "..") errs.push(`must not be '${value}'`);
  return errs;
}

export function validatePortNumber(
  c: Causes,
  field: string,
  port: number | undefined,
  required = true,
): void {
  if (port === undefined) {
    if (required) c.required(field);
    return;
  }
  if (port < 1 || port > 65535) c.invalid(field, port, "must be between 1 and 65535, inclusive");
}

/** A port given as a number (1-65535) or as the name of a container port. */
export function validatePortNumOrName(c: Causes, field: string, port: number | string | undefined): void {
  if (port === undefined || port === "") {
    c.required(field);
  } else if (typeof port === "number") {
    validatePortNumber(c, field, port);
  } else {
    c.syntax(field, port, ianaSvcNameErrors(port));
  }
}

export function validateNonNegative(c: Causes, field: string, value: number | undefined): void {
  if (value !== undefined && value < 0) c.invalid(field, value, "must be greater than or equal to 0");
}

export function validatePositive(c: Causes, field: string, value: number | undefined): void {
  if (value !== undefined && value <= 0) c.invalid(field, value, "must be greater than 0");
}

export function validateOneOf(
  c: Causes,
  field: string,
  value: string | undefined,
  supported: readonly string[],
  required = true,
): void {
  if (value === undefined || value === "") {
    if (required)
      c.required(field, `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`);
  } else if (!supported.includes(value)) {
    c.notSupported(field, value, supported);
  }
}

export function validateLabels(c: Causes, field: string, labels: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    c.syntax(field, k, qualifiedNameErrors(k));
    c.syntax(key(field, k), v, labelValueErrors(v));
  }
}

/**
 * A list of references to objects in the object's own namespace (`imagePullSecrets`): each needs
 * a name that could be an object's, so `other-namespace/creds` is refused here rather than looked
 * up in vain on the node.
 */
export function validateLocalObjectReferences(
  c: Causes,
  field: string,
  refs: readonly { name?: string }[] | undefined,
): void {
  (refs ?? []).forEach((ref, i) => {
    const name = child(index(field, i), "name");
    if (!ref.name) c.required(name);
    else c.syntax(name, ref.name, dns1123SubdomainErrors(ref.name));
  });
}

export function validateQuantity(
  c: Causes,
  field: string,
  value: string | undefined,
  nonNegative = true,
): void {
  if (value === undefined) return;
  const err = quantityError(value);
  if (err) c.invalid(field, value, err);
  else if (nonNegative && value.startsWith("-"))
    c.invalid(field, value, "must be greater than or equal to 0");
}

export function isIPv4OrIPv6(value: string): boolean {
  return isIP(value) !== 0;
}

/** True for "25%" style percentages. */
export function isPercent(value: string): boolean {
  return percentRe.test(value);
}
