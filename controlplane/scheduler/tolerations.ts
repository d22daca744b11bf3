/** Whether a toleration tolerates a taint, by Kubernetes' rules (shared by the filter and the score). */
import type { Taint, Toleration } from "../../proto/gen/api.js";
import type { DeepReadonly } from "../client/readonly.js";

/**
 * An empty effect matches every effect; operator Exists with an empty key tolerates every taint;
 * otherwise the keys must match and, for operator Equal (the default), the values too.
 */
export function tolerates(t: DeepReadonly<Toleration>, taint: DeepReadonly<Taint>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return (t.key ?? "") === (taint.key ?? "") && (t.value ?? "") === (taint.value ?? "");
}

export function toleratedByAny(
  tolerations: readonly DeepReadonly<Toleration>[],
  taint: DeepReadonly<Taint>,
): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}
