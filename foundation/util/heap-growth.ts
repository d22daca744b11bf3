/**
 * Fixes how far V8 lets the old generation grow past the live heap before its next full GC, for
 * the long-running server processes (control plane, node agent).
 *
 * As the GC traces show it, V8 (11.3, in Node 20) counts the Buffers allocated since the last full
 * GC against the old generation's headroom and starts a full GC once what is left is smaller than
 * the young generation (16-32 MiB): marking started at the "allocation limit" while the heap itself
 * did not grow. Left to its heuristics, the headroom after a quiet spell is ~8 MB, so a burst of
 * short-lived Buffers (a port-forward or a log stream relays each byte through several) ran a
 * mark-compact every 50-100 ms: GC was about two thirds of both processes' CPU per forwarded byte
 * (measured with --trace-gc, --trace-incremental-marking and per-thread CPU times; the figures are
 * in controlplane/nodeservice/README.md). A fixed 300% growth lets the heap reach four times its
 * live size first, the largest factor V8's own heuristics pick; the small heaps of these processes
 * then leave tens of MB for such bursts.
 */
import { setFlagsFromString } from "node:v8";

export const heapGrowthPercent = 300;

/** Sets the growth for this process; V8 applies it from the next full GC on. */
export function setServerHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${heapGrowthPercent}`);
}
