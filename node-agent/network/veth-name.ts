/**
 * Deterministic host-side veth names: derived from the pod UID alone, so teardown after a crash
 * finds the interface without any saved state. 15 characters, the kernel's IFNAMSIZ limit.
 */
import { createHash } from "node:crypto";

/** What every pod's host-side veth name starts with. */
export const HOST_VETH_PREFIX = "kveth";

/** `kveth` + 10 hex digits of sha256(podUID): 40 bits, so collisions on one node are negligible. */
export function hostVethName(podUID: string): string {
  return `${HOST_VETH_PREFIX}${createHash("sha256").update(podUID).digest("hex").slice(0, 10)}`;
}
