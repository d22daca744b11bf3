/**
 * Usage figures as metrics-server writes them in resource.Quantity's canonical form: CPU from
 * nanocores with the largest decimal suffix that keeps the number whole (1500000n → "1500u",
 * 250000000n → "250m", 2000000000n → "2"), memory in bytes with the largest exact binary suffix
 * (1048576 → "1Mi", 1000 → "1000"), and windows as Go durations ("15s", "1m0.5s").
 */
import { formatQuantity } from "../../foundation/api/quantity.js";

export function formatNanoCores(nanoCores: number): string {
  let n = Math.max(0, Math.round(nanoCores));
  if (n === 0) return "0";
  const suffixes = ["n", "u", "m", ""];
  let i = 0;
  while (i < suffixes.length - 1 && n % 1000 === 0) {
    n /= 1000;
    i++;
  }
  return `${n}${suffixes[i]}`;
}

export function formatBytes(bytes: number): string {
  return formatQuantity(Math.max(0, Math.round(bytes)), "binary");
}

/** A metav1.Duration as Go prints it, to the millisecond. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms - minutes * 60_000) / 1000;
  const s = `${Number(seconds.toFixed(3))}s`;
  return minutes > 0 ? `${minutes}m${s}` : s;
}
