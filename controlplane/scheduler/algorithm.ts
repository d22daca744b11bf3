/**
 * One scheduling decision: filter nodes, score the feasible ones, pick the best (ties broken at
 * random with the injected source). Pure computation over the cache: it neither waits nor writes.
 *
 * Like kube-scheduler's percentageOfNodesToScore, filtering stops once enough feasible nodes are
 * found: all nodes below 100, else an adaptive share (50% - nodes/125, at least 5%) but never fewer
 * than 100 (5000 nodes → 10% → 500 nodes). The scan starts where the previous one stopped, so every
 * node gets its turn. This keeps a decision near O(sample) instead of O(nodes) on big clusters while
 * still choosing among hundreds of candidates; set `percentageOfNodesToScore: 100` to score all.
 */
import type { SchedulerCache } from "./cache.js";
import type { Filter, NodeCheck } from "./filters/filter.js";
import { FitError } from "./fit-error.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";
import type { NodeScorer, Score } from "./scores.js";

export interface AlgorithmOptions {
  filters: readonly Filter[];
  scores: readonly Score[];
  /** Uniform in [0, 1); Math.random in production, seeded in tests. */
  random: () => number;
  /** 1..100, or 0 (default) for the adaptive share described above. */
  percentageOfNodesToScore?: number;
}

export interface Decision {
  nodeName: string;
  /** Nodes the filters ran on. */
  evaluatedNodes: number;
  feasibleNodes: number;
}

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

export class SchedulingAlgorithm {
  private readonly opts: AlgorithmOptions;
  private nextStartIndex = 0;
  // Reused between decisions so the hot path allocates almost nothing.
  private readonly reasons: string[] = [];
  private feasible: NodeInfo[] = [];
  private raw = new Float64Array(256);
  private total = new Float64Array(256);

  constructor(opts: AlgorithmOptions) {
    const pct = opts.percentageOfNodesToScore ?? 0;
    if (!Number.isInteger(pct) || pct < 0 || pct > 100) {
      throw new RangeError(`percentageOfNodesToScore must be an integer in 0..100, got ${pct}`);
    }
    this.opts = opts;
  }

  /** Chooses a node for `pod`, or throws FitError saying why no node fits. */
  schedule(pod: PodInfo, cache: SchedulerCache): Decision {
    const nodes = cache.nodes();
    const n = nodes.length;
    if (n === 0) throw new FitError(0, new Map());
    const checks: NodeCheck[] = [];
    for (const f of this.opts.filters) {
      const check = f.prepare(pod, cache);
      if (check) checks.push(check);
    }
    const want = this.numFeasibleNodesToFind(n);
    const feasible = this.feasible;
    feasible.length = 0;
    const reasons = this.reasons;
    let failed: Map<string, number> | undefined;
    let evaluated = 0;
    for (; evaluated < n && feasible.length < want; evaluated++) {
      const node = nodes[(this.nextStartIndex + evaluated) % n]!;
      if (reasons.length > 0) reasons.length = 0;
      let ok = true;
      for (let c = 0; c < checks.length; c++) {
        if (!checks[c]!(node, reasons)) {
          ok = false;
          break;
        }
      }
      if (ok) {
        feasible.push(node);
        continue;
      }
      failed ??= new Map();
      for (const r of reasons) failed.set(r, (failed.get(r) ?? 0) + 1);
    }
    this.nextStartIndex = (this.nextStartIndex + evaluated) % n;
    if (feasible.length === 0) throw new FitError(n, failed ?? new Map());
    const chosen = feasible.length === 1 ? feasible[0]! : this.pick(pod, cache, feasible);
    const decision = { nodeName: chosen.name, evaluatedNodes: evaluated, feasibleNodes: feasible.length };
    feasible.length = 0;
    return decision;
  }

  numFeasibleNodesToFind(numAllNodes: number): number {
    if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
    let pct = this.opts.percentageOfNodesToScore ?? 0;
    if (pct === 0) pct = Math.max(minFeasibleNodesPercentageToFind, 50 - Math.floor(numAllNodes / 125));
    if (pct >= 100) return numAllNodes;
    return Math.max(minFeasibleNodesToFind, Math.floor((numAllNodes * pct) / 100));
  }

  private pick(pod: PodInfo, cache: SchedulerCache, feasible: NodeInfo[]): NodeInfo {
    const count = feasible.length;
    if (this.raw.length < count) {
      this.raw = new Float64Array(count * 2);
      this.total = new Float64Array(count * 2);
    }
    const raw = this.raw;
    const total = this.total;
    total.fill(0, 0, count);
    for (let i = 0; i < count; i++) feasible[i]!.scoreSlot = i;
    for (const s of this.opts.scores) {
      const scorer: NodeScorer | undefined = s.prepare(pod, cache);
      if (!scorer) continue;
      scorer.scoreAll(feasible, count, raw);
      scorer.normalize?.(raw, count);
      for (let i = 0; i < count; i++) total[i]! += s.weight * raw[i]!;
    }
    for (let i = 0; i < count; i++) feasible[i]!.scoreSlot = -1;
    // Reservoir sampling over the best-scoring nodes: each tie is equally likely to win.
    let best = 0;
    let ties = 1;
    for (let i = 1; i < count; i++) {
      if (total[i]! > total[best]!) {
        best = i;
        ties = 1;
      } else if (total[i] === total[best]) {
        ties++;
        if (this.opts.random() * ties < 1) best = i;
      }
    }
    return feasible[best]!;
  }
}
