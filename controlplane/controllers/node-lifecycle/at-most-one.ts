/**
 * Pods that must never run in two places at once: those annotated `kctl.io/at-most-one: "true"`,
 * and a StatefulSet's pods (upstream never force-deletes them on a node's behalf; here they may go
 * once their node has certainly fenced them). The lifecycle controller holds their force-deletion
 * from a silent node until G + E after the node's last renewal, which the agent's fence at
 * G + E − margin precedes (`controlplane/api/node-timing.ts`).
 */
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const atMostOneAnnotation = "kctl.io/at-most-one";

export function asksAtMostOne(pod: DeepReadonly<Pod>): boolean {
  if (pod.metadata.annotations?.[atMostOneAnnotation] === "true") return true;
  return (pod.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === "StatefulSet");
}
