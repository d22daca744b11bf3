/**
 * ControllerRevision: one immutable snapshot of a workload's template (DaemonSet and StatefulSet
 * history, what `rollout history` and `rollout undo` read). Only `revision` may change, as upstream:
 * a controller renumbers a revision it brings back instead of copying it.
 */

import { isDeepStrictEqual } from "node:util";
import type { ControllerRevision } from "../../proto/gen/api.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";

/** The CONTROLLER cell as kubectl prints it: `daemonset.apps/fluentd`. */
function controllerOf(rev: ControllerRevision): string {
  const owner = rev.metadata.ownerReferences?.find((o) => o.controller);
  if (!owner) return none;
  const group = owner.apiVersion?.includes("/") ? owner.apiVersion.split("/")[0] : "";
  return `${owner.kind?.toLowerCase()}${group ? `.${group}` : ""}/${owner.name}`;
}

export const controllerRevisionKind = defineKind<ControllerRevision>({
  resource: {
    group: "apps",
    version: "v1",
    kind: "ControllerRevision",
    plural: "controllerrevisions",
    singular: "controllerrevision",
    shortNames: [],
    namespaced: true,
    subresources: [],
    message: "kctl.api.ControllerRevision",
    hasStatus: false,
  },
  validate: (c, rev, old) => {
    if ((rev.revision ?? 0) < 0) c.invalid("revision", rev.revision, "must be greater than or equal to 0");
    if (old && !isDeepStrictEqual(rev.data ?? {}, old.data ?? {})) c.immutable("data", "");
  },
  columns: {
    headers: ["CONTROLLER", "REVISION", "AGE"],
    cells: (rev, now) => [controllerOf(rev), String(rev.revision ?? 0), created(rev, now)],
  },
});
