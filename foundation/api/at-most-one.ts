/**
 * Pods that must never run in two places at once: those annotated `kctl.io/at-most-one: "true"`,
 * and a StatefulSet's pods (upstream never force-deletes them on a node's behalf; here they may go
 * once their node has certainly fenced them). The lifecycle controller holds their force-deletion
 * from a silent node until G + E after the node's last renewal, which the agent's fence at
 * G + E − margin precedes (`node-timing.ts`). Validation refuses a value other than "true" or
 * "false", so a typo cannot silently give up the guarantee.
 */
export const atMostOneAnnotation = "kctl.io/at-most-one";

export const atMostOneValues = ["true", "false"] as const;

/** What of a pod decides it (a cached, read-only pod fits). */
interface PodMetadata {
  readonly metadata: {
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { readonly kind?: string; readonly controller?: boolean }[];
  };
}

export function asksAtMostOne(pod: PodMetadata): boolean {
  if (pod.metadata.annotations?.[atMostOneAnnotation] === "true") return true;
  return (pod.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === "StatefulSet");
}
