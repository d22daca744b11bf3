/**
 * The unschedulable verdict and its message, worded and ordered like kube-scheduler's FitError:
 * `0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient memory.`
 * (each "count reason" string sorted as a string, as Go's sort.Strings does).
 */

export class FitError extends Error {
  constructor(
    readonly numAllNodes: number,
    /** Reason → number of nodes that gave it. A node may give several (e.g. cpu and memory). */
    readonly reasons: ReadonlyMap<string, number>,
  ) {
    super(fitErrorMessage(numAllNodes, reasons));
    this.name = "FitError";
  }
}

export function fitErrorMessage(numAllNodes: number, reasons: ReadonlyMap<string, number>): string {
  if (numAllNodes === 0) return "no nodes available to schedule pods";
  const parts = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numAllNodes} nodes are available: ${parts.join(", ")}.`;
}
