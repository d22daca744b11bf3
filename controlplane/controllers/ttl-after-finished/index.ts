/**
 * The TTL-after-finished controller: deletes finished Jobs once their ttlSecondsAfterFinished has
 * passed, pods first (foreground propagation). It deletes nothing else and never changes a Job.
 */

export { expiresAt, TtlAfterFinishedController, type TtlAfterFinishedOptions } from "./controller.js";
export { startTtlAfterFinishedController, type TtlAfterFinishedDeps } from "./start.js";
