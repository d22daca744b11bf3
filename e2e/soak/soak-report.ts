/**
 * The arithmetic of the soak's report: requests tallied by what was in their path, and the
 * percentiles of the times measured per fault kind.
 */

export interface Tally {
  ok: number;
  failed: number;
}

export function count(tallies: Record<string, Tally>, kind: string, ok: boolean): void {
  tallies[kind] ??= { ok: 0, failed: 0 };
  if (ok) tallies[kind].ok++;
  else tallies[kind].failed++;
}

/** The nearest-rank percentile `p` (0..100) of `values`; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface Spread {
  n: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
}

/** p50, p99 and max of each kind's values. */
export function spreadByKind(values: readonly { kind: string; ms: number }[]): Record<string, Spread> {
  const byKind = new Map<string, number[]>();
  for (const v of values) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v.ms]);
  return Object.fromEntries(
    [...byKind].map(([kind, ms]) => [
      kind,
      { n: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: percentile(ms, 100) },
    ]),
  );
}

/**
 * One violation per fault of the `blips` kinds (one control plane or etcd member of three down)
 * that had a fence in its window: those leave every node healthy, so a fence there stopped pods
 * for nothing.
 */
export function fencesOverBlips(
  faults: readonly { kind: string; target: string; atRunMs: number; hostsFenced: number }[],
  blips: ReadonlySet<string>,
): string[] {
  return faults
    .filter((f) => blips.has(f.kind) && f.hostsFenced > 0)
    .map(
      (f) =>
        `${f.hostsFenced} fences in the window of ${f.kind} ${f.target} at ${(f.atRunMs / 1000).toFixed(1)} s (one control plane side blip; no node was cut off)`,
    );
}
