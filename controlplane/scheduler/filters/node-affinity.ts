/** `spec.nodeSelector` and required node affinity, compiled per pod in pod-info.ts. */
import type { Filter } from "./filter.js";

export const reasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";

export const nodeAffinityFilter: Filter = {
  name: "NodeAffinity",
  prepare(pod) {
    const matcher = pod.nodeMatcher;
    if (!matcher) return undefined;
    return (node, reasons) => {
      if (matcher(node.labels, node.name)) return true;
      reasons.push(reasonNodeAffinity);
      return false;
    };
  },
};
