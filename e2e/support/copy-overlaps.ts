/**
 * When two hosts ran the same pod identity: from the copies a sampler saw (a container of a pod on
 * a host, from its process's start to the last sample that saw it running, and the first sample, or
 * the exit record, that saw it stopped), the moments two copies of one identity on different hosts
 * overlapped. A copy's start is exact (the kernel's start time of its process); its end lies
 * between the last sample that saw it and the first that did not, so an overlap is "certain" when
 * the other copy started before the last sighting, and "possible" when only before the first
 * sample that missed it. All times are milliseconds on one clock (the soak uses time since boot).
 */

export interface Copy {
  /** `namespace/name` of the pod. */
  identity: string;
  host: string;
  /** The container (a pod may have several; any of them running counts). */
  container: string;
  startMs: number;
  lastSeenMs: number;
  /** When it was known stopped (exit record or a sample that missed it); undefined: still running. */
  goneMs?: number;
}

export interface Overlap {
  identity: string;
  hosts: [string, string];
  containers: [string, string];
  fromMs: number;
  /** Until the earlier of the two ends (the last sighting when certain, else the first miss). */
  toMs: number;
  certain: boolean;
}

/** Every overlap of two copies of one identity on different hosts, earliest first. */
export function overlapsOf(copies: readonly Copy[]): Overlap[] {
  const byIdentity = new Map<string, Copy[]>();
  for (const c of copies) byIdentity.set(c.identity, [...(byIdentity.get(c.identity) ?? []), c]);
  const overlaps: Overlap[] = [];
  for (const [identity, list] of byIdentity) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [a, b] = [list[i]!, list[j]!];
        if (a.host === b.host) continue;
        const fromMs = Math.max(a.startMs, b.startMs);
        const seen = Math.min(a.lastSeenMs, b.lastSeenMs);
        const gone = Math.min(a.goneMs ?? Number.POSITIVE_INFINITY, b.goneMs ?? Number.POSITIVE_INFINITY);
        if (fromMs > seen && fromMs >= gone) continue;
        const certain = fromMs <= seen;
        overlaps.push({
          identity,
          hosts: [a.host, b.host],
          containers: [a.container, b.container],
          fromMs,
          toMs: certain ? seen : gone,
          certain,
        });
      }
    }
  }
  return overlaps.sort((x, y) => x.fromMs - y.fromMs);
}
