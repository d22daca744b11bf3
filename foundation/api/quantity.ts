/**
 * Kubernetes resource quantities ("500m", "128Mi", "1.5G", "1e3"): syntax check, conversion to
 * plain numbers for the scheduler and cgroups, and formatting numbers back to canonical strings.
 * Values are JavaScript numbers, exact for everything below 2^53 (8 PiB, or 9e12 CPU cores).
 */

import { ApiError } from "./errors.js";

/** The grammar, written as Kubernetes states it in its error messages. */
export const quantityPattern = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

const quantityRe =
  /^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E)?$/;

const decimalExponents: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binaryExponents: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

interface Parsed {
  sign: number;
  mantissa: string;
  /** Power of ten the mantissa is scaled by. */
  exp10: number;
  /** Power of two the mantissa is scaled by. */
  exp2: number;
}

function parse(text: string): Parsed | undefined {
  const m = quantityRe.exec(text);
  if (!m) return undefined;
  const suffix = m[3] ?? "";
  let exp10 = 0;
  let exp2 = 0;
  if (suffix in binaryExponents) exp2 = binaryExponents[suffix]!;
  else if (suffix in decimalExponents) exp10 = decimalExponents[suffix]!;
  else exp10 = Number(suffix.slice(1));
  return { sign: m[1] === "-" ? -1 : 1, mantissa: m[2]!, exp10, exp2 };
}

// Scaling through the exponent of a decimal literal keeps "0.1" * 1000 at exactly 100.
function scaled(p: Parsed, extraExp10: number): number {
  return p.sign * Number(`${p.mantissa}e${p.exp10 + extraExp10}`) * 2 ** p.exp2;
}

/** True when `text` is a syntactically valid quantity. */
export function isQuantity(text: string): boolean {
  return parse(text) !== undefined;
}

/** A Kubernetes-style explanation when `text` is not a quantity, else undefined. */
export function quantityError(text: string): string | undefined {
  return isQuantity(text) ? undefined : `quantities must match the regular expression '${quantityPattern}'`;
}

function parseOrThrow(q: string | number): Parsed {
  const text = typeof q === "number" ? String(q) : q;
  const p = parse(text);
  if (!p) throw new ApiError("BadRequest", `invalid quantity "${text}": ${quantityError(text)}`);
  return p;
}

/** The value in base units: cores for cpu, bytes for memory. Throws ApiError("BadRequest") on bad syntax. */
export function quantityValue(q: string | number): number {
  return scaled(parseOrThrow(q), 0);
}

/** The value in thousandths, rounded up like Kubernetes' MilliValue ("100m" → 100, "0.5" → 500). */
export function quantityMilliValue(q: string | number): number {
  return Math.ceil(scaled(parseOrThrow(q), 3));
}

/** Whole base units rounded up, like Kubernetes' Value() ("1500m" → 2, "128Mi" → 134217728). */
export function quantityIntValue(q: string | number): number {
  return Math.ceil(scaled(parseOrThrow(q), 0));
}

/**
 * Canonical string for a number. "binary" uses the largest exact power-of-1024 suffix (134217728 →
 * "128Mi"), "decimal" the largest exact power-of-1000 suffix (2000 → "2k", 0.5 → "500m").
 */
export function formatQuantity(value: number, format: "binary" | "decimal"): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot format ${value} as a quantity`);
  if (value === 0) return "0";
  if (format === "binary" && Number.isInteger(value)) {
    for (const [suffix, exp] of Object.entries(binaryExponents).reverse()) {
      const unit = 2 ** exp;
      if (value % unit === 0) return `${value / unit}${suffix}`;
    }
    return String(value);
  }
  // Shifting the decimal exponent of the shortest round-trip form avoids 0.1 * 1000 style error.
  const [mantissa, exponent] = value.toExponential().split("e") as [string, string];
  const candidates = Object.entries(decimalExponents).sort((a, b) => b[1] - a[1]);
  for (const [suffix, exp] of candidates) {
    const n = Number(`${mantissa}e${Number(exponent) - exp}`);
    if (Number.isInteger(n)) return `${n}${suffix}`;
  }
  return String(value);
}
