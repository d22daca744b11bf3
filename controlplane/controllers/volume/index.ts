/**
 * Persistent volumes: the PV controller (binding claims and volumes, the default class, phases and
 * reclaim) and the control-plane half of the local-path provisioner (the default `local-path`
 * class, PVs on the node the scheduler picked). It never touches a node's disk (agents do) and
 * never schedules pods (the scheduler writes the selected-node annotation).
 */
export { defaultClass, VolumeController } from "./controller.js";
export * from "./local-path.js";
export { startVolumeController, type VolumeControllerDeps } from "./start.js";
