/**
 * The timing chain of node recovery, shared by the control plane (which judges a node by its lease
 * and evicts its pods) and the agent (which renews the lease and fences itself): grace G, eviction
 * E, renew period R = G / 4 and fence F = G + E − margin. The worked numbers are in
 * `controlplane/controllers/node-lifecycle/README.md`.
 */

/** G: a node whose lease is older than this turns Unknown and is tainted unreachable. */
export const defaultNodeGraceSeconds = 8;
/** E: the defaulted tolerationSeconds of the unreachable/not-ready taints. */
export const defaultPodEvictionSeconds = 8;
/**
 * Between the agent's fence and the first force-delete of its pods: the containers' SIGKILL and
 * cgroup emptying (about 1 s), one renewal call's deadline, and the skew between the control
 * plane's clock and the agent's.
 */
export const fenceMarginSeconds = 6;

export class NodeTimingError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "NodeTimingError";
  }
}

/** How often the agent renews its lease: four times per grace period, at least every second. */
export function renewPeriodMs(graceSeconds: number): number {
  return Math.max(1, graceSeconds / 4) * 1000;
}

/**
 * How long the agent may go without a successful renewal before it stops its pods: the control
 * plane force-deletes them no earlier than G + E after the last renewal it saw.
 */
export function fenceAfterMs(graceSeconds: number, evictionSeconds: number): number {
  return (graceSeconds + evictionSeconds - fenceMarginSeconds) * 1000;
}

/**
 * Refuses a grace and eviction that leave the agent less than two renewal periods before it must
 * fence: one lost renewal would then stop every pod of a healthy node.
 * `names` are what the caller calls the two settings (flags or option keys), for the message.
 */
export function checkNodeTimings(
  graceSeconds: number,
  evictionSeconds: number,
  names: { grace: string; eviction: string },
): void {
  for (const [field, v] of [
    [names.grace, graceSeconds],
    [names.eviction, evictionSeconds],
  ] as const) {
    if (!Number.isInteger(v) || v < 2)
      throw new NodeTimingError(field, `must be a whole number of seconds, at least 2 (got ${v})`);
  }
  const fence = fenceAfterMs(graceSeconds, evictionSeconds);
  const minimum = 2 * renewPeriodMs(graceSeconds);
  if (fence < minimum) {
    throw new NodeTimingError(
      `${names.grace} + ${names.eviction}`,
      `${graceSeconds + evictionSeconds} s leaves the agent's fence (sum − ${fenceMarginSeconds} s = ${fence / 1000} s) ` +
        `under two lease renewals (${minimum / 1000} s); make the sum at least ${fenceMarginSeconds + minimum / 1000} s`,
    );
  }
}
