/**
 * The disruption controller: the status of PodDisruptionBudgets (currentHealthy, desiredHealthy,
 * expectedPods, disruptionsAllowed, disruptedPods, the DisruptionAllowed condition) that the
 * eviction subresource reads and decrements. It never evicts or deletes pods.
 */
export {
  DisruptionController,
  type DisruptionControllerOptions,
  podDisruptionBudgetsResource,
} from "./controller.js";
export { ExpectedPodsError, expectedPods } from "./expected-pods.js";
export { type DisruptionControllerDeps, startDisruptionController } from "./start.js";
