/**
 * Workload history as ControllerRevisions, shared by the DaemonSet and StatefulSet controllers:
 * naming and hashing revisions, finding the current one, numbering the next, and choosing which old
 * ones to drop past `revisionHistoryLimit`. Pure decisions; callers write through their client.
 */
export {
  controllerRevisionHashLabel,
  hashOf,
  matchingRevisions,
  newRevision,
  nextRevisionNumber,
  revisionHash,
  revisionName,
  revisionsToTruncate,
  sortByRevision,
  templateOf,
  templatePatch,
} from "./revisions.js";
