/**
 * From the metrics' proposal to the count the controller writes (upstream's
 * normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors): stabilization over recent
 * recommendations, then the bounds and rate limits, with the AbleToScale and ScalingLimited
 * conditions each step sets. `ScaleHistory` keeps, per HPA, the recommendations and scale events
 * these windows look back on; it lives as long as the controller (upstream keeps it in memory too).
 */
import type { HorizontalPodAutoscalerBehavior, HPAScalingRules } from "../../../proto/gen/api.js";

interface Recommendation {
  replicas: number;
  at: number;
}

interface ScaleEvent {
  change: number;
  at: number;
  outdated: boolean;
}

/** Without `behavior`: recommendations of the last 5 minutes hold a scale-down back. */
export const legacyDownscaleWindowMs = 5 * 60_000;
/** Without `behavior`: a scale-up at most doubles the count, and reaches at least 4. */
const scaleUpLimitFactor = 2;
const scaleUpLimitMinimum = 4;

export interface ConditionSet {
  type: "AbleToScale" | "ScalingLimited";
  status: "True" | "False";
  reason: string;
  message: string;
}

export interface Normalized {
  replicas: number;
  conditions: ConditionSet[];
}

export class ScaleHistory {
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly scaleUps = new Map<string, ScaleEvent[]>();
  private readonly scaleDowns = new Map<string, ScaleEvent[]>();

  /** Seeds the window with the current count, so a new HPA does not scale down at once. */
  recordInitial(key: string, replicas: number, now: number): void {
    if (!this.recommendations.has(key)) this.recommendations.set(key, [{ replicas, at: now }]);
  }

  forget(key: string): void {
    this.recommendations.delete(key);
    this.scaleUps.delete(key);
    this.scaleDowns.delete(key);
  }

  /** Upstream's stabilizeRecommendation: the highest recommendation of the last 5 minutes. */
  stabilizeLegacy(key: string, desired: number, now: number): number {
    const cutoff = now - legacyDownscaleWindowMs;
    let max = desired;
    const list = this.recommendations.get(key) ?? [];
    let reused = false;
    for (const r of list) {
      if (r.at > cutoff) max = Math.max(max, r.replicas);
      else if (!reused) {
        // One expired entry makes room for this recommendation.
        r.replicas = desired;
        r.at = now;
        reused = true;
      }
    }
    if (!reused) list.push({ replicas: desired, at: now });
    this.recommendations.set(key, list);
    return max;
  }

  /**
   * Upstream's stabilizeRecommendationWithBehaviors: the count moves towards `desired` no further
   * than the lowest recommendation of the scale-up window allows up and the highest of the
   * scale-down window allows down.
   */
  stabilize(key: string, current: number, desired: number, up: number, down: number, now: number): number {
    const upCutoff = now - up * 1000;
    const downCutoff = now - down * 1000;
    let upRec = desired;
    let downRec = desired;
    const list = this.recommendations.get(key) ?? [];
    let old: Recommendation | undefined;
    for (const r of list) {
      if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
      if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
      if (r.at < upCutoff && r.at < downCutoff) old = r;
    }
    let recommendation = current;
    if (recommendation < upRec) recommendation = upRec;
    if (recommendation > downRec) recommendation = downRec;
    if (old) {
      old.replicas = desired;
      old.at = now;
    } else list.push({ replicas: desired, at: now });
    this.recommendations.set(key, list);
    return recommendation;
  }

  /** Records a rescale for the rate policies (only HPAs with `behavior` are rate limited so). */
  recordScale(
    key: string,
    behavior: HorizontalPodAutoscalerBehavior | undefined,
    from: number,
    to: number,
    now: number,
  ) {
    if (!behavior) return;
    const up = to > from;
    const rules = up ? behavior.scaleUp : behavior.scaleDown;
    const longest = Math.max(0, ...(rules?.policies ?? []).map((p) => p.periodSeconds ?? 0)) * 1000;
    const events = (up ? this.scaleUps : this.scaleDowns).get(key) ?? [];
    for (const e of events) if (e.at < now - longest) e.outdated = true;
    const event = { change: Math.abs(to - from), at: now, outdated: false };
    const reuse = events.findIndex((e) => e.outdated);
    if (reuse >= 0) events[reuse] = event;
    else events.push(event);
    (up ? this.scaleUps : this.scaleDowns).set(key, events);
  }

  /** Replicas added (or removed) within the last `periodSeconds`. */
  changeWithin(key: string, up: boolean, periodSeconds: number, now: number): number {
    const cutoff = now - periodSeconds * 1000;
    return ((up ? this.scaleUps : this.scaleDowns).get(key) ?? [])
      .filter((e) => e.at > cutoff)
      .reduce((sum, e) => sum + e.change, 0);
  }
}

/**
 * The most replicas the scale-up policies allow now: each policy proposes the count at the start
 * of its period plus its step (Pods: +value; Percent: ×(1+value/100), rounded up), and
 * selectPolicy picks the largest (Max) or smallest (Min) proposal.
 * E.g. current=4 with nothing scaled in the last 15 s: Pods 4 → 8, Percent 100 → 8; Max → 8.
 */
export function scaleUpLimit(
  history: ScaleHistory,
  key: string,
  current: number,
  rules: HPAScalingRules,
  now: number,
) {
  if (rules.selectPolicy === "Disabled") return current;
  const min = rules.selectPolicy === "Min";
  let result = min ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const p of rules.policies ?? []) {
    const period = p.periodSeconds ?? 0;
    const start =
      current - history.changeWithin(key, true, period, now) + history.changeWithin(key, false, period, now);
    const proposed =
      p.type === "Pods" ? start + (p.value ?? 0) : Math.ceil(start * (1 + (p.value ?? 0) / 100));
    result = min ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/**
 * The fewest replicas the scale-down policies allow now (Pods: −value; Percent: ×(1−value/100),
 * rounded down); selectPolicy Max picks the largest change (the smallest count).
 * E.g. current=10, Percent 50 per 60 s, 2 removed 30 s ago: start 12 → 6.
 */
export function scaleDownLimit(
  history: ScaleHistory,
  key: string,
  current: number,
  rules: HPAScalingRules,
  now: number,
) {
  if (rules.selectPolicy === "Disabled") return current;
  const min = rules.selectPolicy === "Min";
  let result = min ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of rules.policies ?? []) {
    const period = p.periodSeconds ?? 0;
    const start =
      current - history.changeWithin(key, true, period, now) + history.changeWithin(key, false, period, now);
    const proposed =
      p.type === "Pods" ? start - (p.value ?? 0) : Math.trunc(start * (1 - (p.value ?? 0) / 100));
    result = min ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

const readyForNewScale: ConditionSet = {
  type: "AbleToScale",
  status: "True",
  reason: "ReadyForNewScale",
  message: "recommended size matches current size",
};

function limited(replicas: number, stabilized: number, reason: string, message: string): ConditionSet {
  return { type: "ScalingLimited", status: replicas === stabilized ? "False" : "True", reason, message };
}

/** Without `behavior`: upstream's normalizeDesiredReplicas and convertDesiredReplicasWithRules. */
export function normalizeLegacy(
  history: ScaleHistory,
  key: string,
  a: { current: number; desired: number; min: number; max: number; now: number },
): Normalized {
  const stabilized = history.stabilizeLegacy(key, a.desired, a.now);
  const able: ConditionSet =
    stabilized !== a.desired
      ? {
          type: "AbleToScale",
          status: "True",
          reason: "ScaleDownStabilized",
          message:
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        }
      : readyForNewScale;
  // current=3 → at most max(2×3, 4) = 6 this step.
  const scaleUpMax = Math.max(scaleUpLimitFactor * a.current, scaleUpLimitMinimum);
  let maxAllowed = a.max;
  let why = ["TooManyReplicas", "the desired replica count is more than the maximum replica count"];
  if (scaleUpMax < a.max) {
    maxAllowed = scaleUpMax;
    why = ["ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"];
  }
  let replicas = stabilized;
  let reason = "DesiredWithinRange";
  let message = "the desired count is within the acceptable range";
  if (stabilized < a.min) {
    replicas = a.min;
    reason = "TooFewReplicas";
    message = "the desired replica count is less than the minimum replica count";
  } else if (stabilized > maxAllowed) {
    replicas = maxAllowed;
    [reason, message] = why as [string, string];
  }
  return { replicas, conditions: [able, limited(replicas, stabilized, reason, message)] };
}

/** With `behavior` (its rules defaulted): upstream's normalizeDesiredReplicasWithBehaviors. */
export function normalizeWithBehavior(
  history: ScaleHistory,
  key: string,
  behavior: HorizontalPodAutoscalerBehavior,
  a: { current: number; desired: number; min: number; max: number; now: number },
): Normalized {
  const up = behavior.scaleUp ?? {};
  const down = behavior.scaleDown ?? {};
  const stabilized = history.stabilize(
    key,
    a.current,
    a.desired,
    up.stabilizationWindowSeconds ?? 0,
    down.stabilizationWindowSeconds ?? 0,
    a.now,
  );
  const able: ConditionSet =
    stabilized === a.desired
      ? readyForNewScale
      : a.desired >= a.current
        ? {
            type: "AbleToScale",
            status: "True",
            reason: "ScaleUpStabilized",
            message:
              "recent recommendations were lower than current one, applying the lowest recent recommendation",
          }
        : {
            type: "AbleToScale",
            status: "True",
            reason: "ScaleDownStabilized",
            message:
              "recent recommendations were higher than current one, applying the highest recent recommendation",
          };
  let replicas = stabilized;
  let reason = "DesiredWithinRange";
  let message = "the desired count is within the acceptable range";
  if (stabilized > a.current) {
    const limit = Math.max(scaleUpLimit(history, key, a.current, up, a.now), a.current);
    const maxAllowed = Math.min(a.max, limit);
    const [r, m] =
      a.max > limit
        ? ["ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"]
        : ["TooManyReplicas", "the desired replica count is more than the maximum replica count"];
    if (stabilized > maxAllowed) [replicas, reason, message] = [maxAllowed, r, m];
  } else if (stabilized < a.current) {
    const limit = Math.min(scaleDownLimit(history, key, a.current, down, a.now), a.current);
    const minAllowed = Math.max(a.min, limit);
    const [r, m] =
      a.min < limit
        ? ["ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"]
        : ["TooFewReplicas", "the desired replica count is less than the minimum replica count"];
    if (stabilized < minAllowed) [replicas, reason, message] = [minAllowed, r, m];
  }
  return { replicas, conditions: [able, limited(replicas, stabilized, reason, message)] };
}
