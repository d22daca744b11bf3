/**
 * The StatefulSet controller: pods with stable names, hostnames and claims, made and removed in
 * ordinal order, rolled out highest ordinal first down to the partition, with ControllerRevisions
 * as history. It never schedules pods or binds claims (the scheduler and the PV controller do),
 * and never deletes claims itself (owner references and the garbage collector do, as the
 * retention policy says).
 */
export { StatefulSetController, type StatefulSetControllerOptions } from "./controller.js";
export { claimName, podIndexLabel, podNameLabel, revisionLabel } from "./identity.js";
export { type StatefulSetControllerDeps, startStatefulSetController } from "./start.js";
