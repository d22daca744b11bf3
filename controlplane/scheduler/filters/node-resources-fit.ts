/**
 * Requests against what is left: allocatable minus the requests of pods already on the node (bound
 * or assumed). Like Kubernetes, a pod that requests no cpu (or memory) fits any node on that
 * resource, the pod count always applies, and every insufficient resource is reported.
 */
import type { Filter } from "./filter.js";

export const reasonInsufficientCpu = "Insufficient cpu";
export const reasonInsufficientMemory = "Insufficient memory";
export const reasonTooManyPods = "Too many pods";

export const nodeResourcesFitFilter: Filter = {
  name: "NodeResourcesFit",
  prepare(pod) {
    const { milliCpu, memory } = pod.requests;
    return (node, reasons) => {
      let fits = true;
      if (node.podCount + 1 > node.allocPods) {
        reasons.push(reasonTooManyPods);
        fits = false;
      }
      if (milliCpu > 0 && milliCpu > node.allocMilliCpu - node.reqMilliCpu) {
        reasons.push(reasonInsufficientCpu);
        fits = false;
      }
      if (memory > 0 && memory > node.allocMemory - node.reqMemory) {
        reasons.push(reasonInsufficientMemory);
        fits = false;
      }
      return fits;
    };
  },
};
