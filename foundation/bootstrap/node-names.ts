/**
 * How a node is named: its user `system:node:<name>` in the group `system:nodes` (Kubernetes'
 * convention, in its certificate's subject), and the node name a host's name gives.
 */

export const nodeUserPrefix = "system:node:";
export const nodesGroup = "system:nodes";

/** This host's name as a node name: lower case, and only what DNS-1123 allows. */
export function nodeNameFromHostname(host: string): string {
  const name = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  return name || "node";
}
