/**
 * NoSchedule and NoExecute taints the pod does not tolerate. PreferNoSchedule taints never reject a
 * node; they only lower its score (see scores.ts). The reason names the first untolerated taint.
 */
import { toleratedByAny } from "../../../foundation/api/tolerations.js";
import type { Filter } from "./filter.js";

export const taintTolerationFilter: Filter = {
  name: "TaintToleration",
  prepare(pod) {
    const tolerations = pod.tolerations;
    return (node, reasons) => {
      const taints = node.hardTaints;
      for (let i = 0; i < taints.length; i++) {
        const t = taints[i]!;
        if (!toleratedByAny(tolerations, t.taint)) {
          reasons.push(t.reason);
          return false;
        }
      }
      return true;
    };
  },
};
