/**
 * The scheduler: binds each pending Pod to a Node. It owns the decision (filters, scores, the
 * sampling of candidates), the pending-pod queue and its own view of placed pods; it never writes
 * anything except through `SchedulerBackend` (binding, PodScheduled condition, events), which the
 * integrator wires to the registry. Run it under leader election: one `Scheduler` per leadership
 * term, `new Scheduler({...}).run(signal)` inside `onStartedLeading(signal)`.
 */
export { type AlgorithmOptions, type Decision, SchedulingAlgorithm } from "./algorithm.js";
export { defaultFilters, type Filter, type NodeCheck } from "./filters/index.js";
export { FitError, fitErrorMessage } from "./fit-error.js";
export { defaultSchedulerName } from "./pod-info.js";
export {
  type InformerSource,
  Scheduler,
  type SchedulerBackend,
  type SchedulerEvent,
  type SchedulerOptions,
} from "./scheduler.js";
export { defaultScores, type NodeScorer, type Score } from "./scores.js";
