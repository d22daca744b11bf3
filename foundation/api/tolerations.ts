/**
 * Whether a toleration tolerates a taint, by Kubernetes' rules: shared by the scheduler's filter and
 * score and the node lifecycle controller's taint eviction.
 */
import type { Taint, Toleration } from "../../proto/gen/api.js";

/**
 * An empty effect matches every effect; operator Exists with an empty key tolerates every taint;
 * otherwise the keys must match and, for operator Equal (the default), the values too.
 */
export function tolerates(t: Readonly<Toleration>, taint: Readonly<Taint>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return (t.key ?? "") === (taint.key ?? "") && (t.value ?? "") === (taint.value ?? "");
}

export function toleratedByAny(
  tolerations: readonly Readonly<Toleration>[],
  taint: Readonly<Taint>,
): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}
