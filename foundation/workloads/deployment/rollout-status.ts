/**
 * What `kctl rollout status deployment/<name>` prints for each state of the Deployment it watches,
 * and when it stops: kubectl's DeploymentStatusViewer, so the messages match what users know.
 * `failed` (exit non-zero) once the Progressing condition says ProgressDeadlineExceeded.
 */
import type { Deployment } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../api/readonly.js";
import { getCondition, reasons } from "./conditions.js";

export type RolloutState =
  | { done: false; failed: false; message: string }
  | { done: true; failed: false; message: string }
  | { done: true; failed: true; message: string };

export function rolloutStatus(d: DeepReadonly<Deployment>): RolloutState {
  const name = d.metadata.name ?? "";
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) {
    return { done: false, failed: false, message: "Waiting for deployment spec update to be observed..." };
  }
  if (getCondition(s, "Progressing")?.reason === reasons.progressDeadlineExceeded) {
    return { done: true, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  }
  const want = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const wait = (what: string) => ({
    done: false as const,
    failed: false as const,
    message: `Waiting for deployment "${name}" rollout to finish: ${what}...`,
  });
  if (updated < want) return wait(`${updated} out of ${want} new replicas have been updated`);
  if ((s.replicas ?? 0) > updated)
    return wait(`${(s.replicas ?? 0) - updated} old replicas are pending termination`);
  if ((s.availableReplicas ?? 0) < updated) {
    return wait(`${s.availableReplicas ?? 0} of ${updated} updated replicas are available`);
  }
  return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
}
