/**
 * Fixes how far V8 lets the old generation grow past the live heap before its next full GC, for
 * the long-running server processes (control plane, node agent).
 *
 * Left to its own heuristics, V8 sets that headroom to ~8 MB after a quiet spell, smaller than the
 * young generation (16-32 MiB), and starts an old-generation marking cycle whenever the headroom is
 * below the young generation's size. A burst of short-lived buffers (a port-forward or a log
 * stream relays each byte through several) then ran a mark-compact every ~100 ms: 12 per 64 MiB
 * forwarded, most of both processes' CPU (measured with `--trace-gc` and per-thread CPU times; see
 * controlplane/nodeservice/bench/README.md). A fixed 100% growth lets the heap reach twice the live
 * size first, as Go's default GOGC=100 does for the upstream apiserver and kubelet.
 */
import { setFlagsFromString } from "node:v8";

export const heapGrowthPercent = 100;

/** Sets the growth for this process; V8 applies it from the next full GC on. */
export function setServerHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${heapGrowthPercent}`);
}
