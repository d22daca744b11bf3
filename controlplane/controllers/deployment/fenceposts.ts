/**
 * maxSurge and maxUnavailable as pod counts. Percentages scale with `spec.replicas`: surge rounds
 * up and unavailability rounds down, so a rollout errs towards keeping capacity:
 *   replicas=10, maxSurge=25% → 3 (2.5 rounded up), maxUnavailable=25% → 2 (2.5 rounded down)
 *   replicas=4,  maxSurge=25% → 1,                  maxUnavailable=25% → 1
 *   replicas=1,  maxSurge=0,  maxUnavailable=25% → 0 and 0, which could never move, so
 *                maxUnavailable becomes 1 (validation forbids both being 0 literally; rounding can).
 */
import type { Deployment, IntOrString } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export class FencepostError extends Error {
  constructor(field: string, value: IntOrString) {
    super(
      `${field}: invalid value ${JSON.stringify(value)}: must be a non-negative integer or a percentage like "25%"`,
    );
    this.name = "FencepostError";
  }
}

const percentRe = /^(\d+)%$/;

/** `value` of `total`, an integer or a percentage; `roundUp` picks the rounding of percentages. */
export function scaledValue(
  value: IntOrString | undefined,
  fallback: IntOrString,
  total: number,
  roundUp: boolean,
  field: string,
): number {
  const v = value ?? fallback;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) throw new FencepostError(field, v);
    return v;
  }
  const m = percentRe.exec(v);
  if (!m) throw new FencepostError(field, v);
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export const isRollingUpdate = (d: DeepReadonly<Deployment>): boolean =>
  (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";

/** [maxSurge, maxUnavailable] as pod counts for a RollingUpdate Deployment. */
export function resolveFenceposts(d: DeepReadonly<Deployment>): [number, number] {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const field = "spec.strategy.rollingUpdate";
  const surge = scaledValue(ru?.maxSurge, "25%", replicas, true, `${field}.maxSurge`);
  const unavailable = scaledValue(ru?.maxUnavailable, "25%", replicas, false, `${field}.maxUnavailable`);
  if (surge === 0 && unavailable === 0) return [0, 1];
  return [surge, unavailable];
}

/** Pods allowed above `spec.replicas` during a rollout; 0 for Recreate. */
export function maxSurge(d: DeepReadonly<Deployment>): number {
  return isRollingUpdate(d) ? resolveFenceposts(d)[0] : 0;
}

/** Pods allowed below `spec.replicas` during a rollout, never more than replicas; 0 for Recreate. */
export function maxUnavailable(d: DeepReadonly<Deployment>): number {
  const replicas = d.spec?.replicas ?? 1;
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d)[1], replicas);
}
