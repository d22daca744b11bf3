/**
 * A Deployment's rollout as the workloads view draws it: its ReplicaSets by revision, the
 * surge/unavailable bounds, and the ready counts sampled over time while the page watches.
 */
import type { Deployment, ReplicaSet } from "./kube-types";

const revisionAnnotation = "deployment.kubernetes.io/revision";

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  return Number(obj.metadata.annotations?.[revisionAnnotation] ?? "0") || 0;
}

/** The ReplicaSets the Deployment controls (by owner uid), newest revision first. */
export function ownedReplicaSets(deploy: Deployment, replicaSets: readonly ReplicaSet[]): ReplicaSet[] {
  return replicaSets
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === deploy.metadata.uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

function scaled(value: number | string | undefined, replicas: number, fallback: string, roundUp: boolean) {
  const v = value ?? fallback;
  if (typeof v === "number") return v;
  const percent = /^(\d+)%$/.exec(v);
  if (!percent) return Number(v) || 0;
  const exact = (Number(percent[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface RolloutBounds {
  replicas: number;
  /** Most pods (old and new) the controller may run at once: replicas + maxSurge. */
  maxTotal: number;
  /** Fewest available pods it may fall to: replicas - maxUnavailable. */
  minAvailable: number;
}

/**
 * The bounds a RollingUpdate keeps, as the controller computes them (defaults 25%/25%):
 * replicas=10, maxSurge=25% → 3 (round up), maxUnavailable=25% → 2 (round down), so 13 and 8.
 * Both zero would stall a rollout; the controller then allows one unavailable, and so does this.
 * Recreate may drop to zero and never surges.
 */
export function rolloutBounds(deploy: Deployment): RolloutBounds {
  const replicas = deploy.spec.replicas ?? 1;
  if (deploy.spec.strategy?.type === "Recreate") return { replicas, maxTotal: replicas, minAvailable: 0 };
  const rolling = deploy.spec.strategy?.rollingUpdate ?? {};
  const surge = scaled(rolling.maxSurge, replicas, "25%", true);
  let unavailable = scaled(rolling.maxUnavailable, replicas, "25%", false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { replicas, maxTotal: replicas + surge, minAvailable: Math.max(0, replicas - unavailable) };
}

export type RolloutPhase = "complete" | "progressing" | "paused" | "failed";

export function rolloutPhase(deploy: Deployment): RolloutPhase {
  if (deploy.spec.paused) return "paused";
  const progressing = deploy.status?.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") return "failed";
  const replicas = deploy.spec.replicas ?? 1;
  const s = deploy.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= (deploy.metadata.generation ?? 0);
  return observed &&
    (s.updatedReplicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas
    ? "complete"
    : "progressing";
}

export interface Sample {
  /** Milliseconds since the epoch. */
  t: number;
  /** Ready pods by ReplicaSet name. */
  ready: Readonly<Record<string, number>>;
}

/**
 * The samples with one more for `replicaSets` at time `t`, when their ready counts differ from the
 * last sample's; at most `limit` kept (the oldest dropped). Returns the same array when unchanged.
 */
export function addSample(
  samples: readonly Sample[],
  t: number,
  replicaSets: readonly ReplicaSet[],
  limit = 200,
): readonly Sample[] {
  const ready: Record<string, number> = {};
  for (const rs of replicaSets) ready[rs.metadata.name] = rs.status?.readyReplicas ?? 0;
  const last = samples[samples.length - 1]?.ready;
  const names = new Set([...Object.keys(ready), ...Object.keys(last ?? {})]);
  if (last && [...names].every((n) => (last[n] ?? 0) === (ready[n] ?? 0))) return samples;
  return [...samples, { t, ready }].slice(-limit);
}

export interface ChartSeries {
  name: string;
  /** An SVG polyline's points, as steps (a count holds until the next sample). */
  points: string;
}

/**
 * Step lines per ReplicaSet over the samples, in a `width`×`height` box whose y axis runs from 0
 * (bottom) to `yMax` (top), time from the first sample to `now` (right edge).
 */
export function chartSeries(
  samples: readonly Sample[],
  names: readonly string[],
  now: number,
  width: number,
  height: number,
  yMax: number,
): ChartSeries[] {
  const first = samples[0]?.t ?? now;
  const span = Math.max(1, now - first);
  const x = (t: number) => ((t - first) / span) * width;
  const y = (v: number) => height - (Math.min(v, yMax) / Math.max(1, yMax)) * height;
  const fmt = (n: number) => n.toFixed(1);
  return names.map((name) => {
    const pts: string[] = [];
    let prev: number | undefined;
    for (const s of samples) {
      const v = s.ready[name] ?? 0;
      if (prev !== undefined) pts.push(`${fmt(x(s.t))},${fmt(y(prev))}`);
      pts.push(`${fmt(x(s.t))},${fmt(y(v))}`);
      prev = v;
    }
    if (prev !== undefined) pts.push(`${fmt(width)},${fmt(y(prev))}`);
    return { name, points: pts.join(" ") };
  });
}
