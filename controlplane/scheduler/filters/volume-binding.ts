/**
 * A pod's claims (upstream's VolumeBinding filter): every claim must exist and not be going away;
 * a bound claim's volume must reach the node (its node affinity); an unbound claim of a
 * WaitForFirstConsumer class needs room on the node for its request (the node's allocatable
 * `ephemeral-storage` less what volumes and selected claims already hold there), so a claim bigger
 * than any node stays Pending with the reason in the pod's PodScheduled condition; an unbound claim
 * of an Immediate class waits for the PV controller.
 */
import { quantityValue } from "../../../foundation/api/quantity.js";
import { compileNodeAffinity } from "../../client/node-affinity.js";
import {
  podClaimNames,
  type StorageLister,
  selectedNodeAnnotation,
  waitsForConsumer,
} from "../volume-binding.js";
import type { Filter, NodeCheck } from "./filter.js";

export const reasonVolumeNodeConflict = "node(s) had volume node affinity conflict";
export const reasonNotEnoughStorage = "node(s) did not have enough free storage";
export const reasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims";

const rejectAll =
  (reason: string): NodeCheck =>
  (_node, reasons) => {
    reasons.push(reason);
    return false;
  };

export function volumeBindingFilter(storage: StorageLister): Filter {
  return {
    name: "VolumeBinding",
    prepare(pod) {
      const names = podClaimNames(pod.pod);
      if (names.length === 0) return undefined;
      const matchers: ReturnType<typeof compileNodeAffinity>[] = [];
      let wanted = 0;
      let selected: string | undefined;
      for (const name of names) {
        const claim = storage.claim(pod.namespace, name);
        if (!claim) return rejectAll(`persistentvolumeclaim "${name}" not found`);
        if (claim.metadata.deletionTimestamp)
          return rejectAll(`persistentvolumeclaim "${name}" is being deleted`);
        const volumeName = claim.spec?.volumeName;
        if (volumeName) {
          const pv = storage.volume(volumeName);
          if (!pv) return rejectAll(`persistentvolume "${volumeName}" not found`);
          const required = pv.spec?.nodeAffinity?.required;
          if (required)
            matchers.push(
              compileNodeAffinity(undefined, { requiredDuringSchedulingIgnoredDuringExecution: required }),
            );
        } else if (waitsForConsumer(claim, storage)) {
          const already = claim.metadata.annotations?.[selectedNodeAnnotation];
          // A claim already selected onto a node is counted in that node's commitments.
          if (already) selected = already;
          else wanted += quantityValue(claim.spec?.resources?.requests?.storage ?? "0");
        } else {
          return rejectAll(reasonUnboundImmediate);
        }
      }
      return (node, reasons) => {
        for (const m of matchers) {
          if (m && !m(node.labels, node.name)) {
            reasons.push(reasonVolumeNodeConflict);
            return false;
          }
        }
        if (selected && selected !== node.name) {
          reasons.push(reasonVolumeNodeConflict);
          return false;
        }
        if (wanted > 0) {
          const alloc = node.node?.status?.allocatable?.["ephemeral-storage"];
          if (alloc !== undefined && quantityValue(alloc) - storage.committedOn(node.name) < wanted) {
            reasons.push(reasonNotEnoughStorage);
            return false;
          }
        }
        return true;
      };
    },
  };
}
