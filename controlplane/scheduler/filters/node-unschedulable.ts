/**
 * Nodes that are not Ready, or cordoned (`spec.unschedulable`, set by `kctl cordon` and `drain`).
 * As in Kubernetes, a pod tolerating the `node.kubernetes.io/unschedulable:NoSchedule` taint may
 * still land on a cordoned node.
 */
import { tolerates } from "../../../foundation/api/tolerations.js";
import type { Filter } from "./filter.js";

export const reasonNotReady = "node(s) were not ready";
export const reasonUnschedulable = "node(s) were unschedulable";

const unschedulableTaint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" } as const;

export const nodeUnschedulableFilter: Filter = {
  name: "NodeUnschedulable",
  prepare(pod) {
    const mayUseCordoned = pod.tolerations.some((t) => tolerates(t, unschedulableTaint));
    return (node, reasons) => {
      if (!node.ready) {
        reasons.push(reasonNotReady);
        return false;
      }
      if (node.unschedulable && !mayUseCordoned) {
        reasons.push(reasonUnschedulable);
        return false;
      }
      return true;
    };
  },
};
