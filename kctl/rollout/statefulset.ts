/**
 * `kctl rollout history|undo statefulset/NAME`: the set's ControllerRevisions as the controller
 * numbers them, and putting an older revision's template back (the controller does the rest).
 */

import { resourceForKind } from "../../foundation/api/resources.js";
import { formatTable } from "../../foundation/printers/text-table.js";
import { byRevision } from "../../foundation/workloads/statefulset/revisions.js";
import {
  planStatefulSetRollback,
  StatefulSetRollbackError,
} from "../../foundation/workloads/statefulset/rollout.js";
import type { ControllerRevision, StatefulSet } from "../../proto/gen/api.js";
import { type ApiClient, retryOnConflict } from "../client.js";
import { CliError } from "../errors.js";

const revisions = resourceForKind("apps/v1", "ControllerRevision")!;
const changeCause = "kubernetes.io/change-cause";

export interface StatefulSetTarget {
  info: Parameters<ApiClient["get"]>[0];
  namespace: string;
  name: string;
  label: string;
}

async function owned(
  client: ApiClient,
  t: StatefulSetTarget,
): Promise<{ set: StatefulSet; revs: ControllerRevision[] }> {
  const set = (await client.get(t.info, t.namespace, t.name)) as StatefulSet;
  const all = (await client.list(revisions, t.namespace)).items as ControllerRevision[];
  const revs = byRevision(
    all.filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === set.metadata.uid)),
  );
  return { set, revs: revs as ControllerRevision[] };
}

/** The REVISION / CHANGE-CAUSE table, as kubectl prints it. */
export async function statefulSetHistory(client: ApiClient, t: StatefulSetTarget): Promise<string> {
  const { revs } = await owned(client, t);
  const rows = revs.map((r) => [String(r.revision ?? 0), r.metadata.annotations?.[changeCause] ?? "<none>"]);
  return `${t.label}\n${formatTable([["REVISION", "CHANGE-CAUSE"], ...rows], 2)}`;
}

/** Rolls the set back to `toRevision` (0: the previous one); returns the line to print. */
export async function undoStatefulSet(
  client: ApiClient,
  t: StatefulSetTarget,
  toRevision: number,
): Promise<string> {
  return retryOnConflict(async () => {
    const { set, revs } = await owned(client, t);
    let plan: ReturnType<typeof planStatefulSetRollback>;
    try {
      plan = planStatefulSetRollback(set, revs, toRevision);
    } catch (err) {
      if (err instanceof StatefulSetRollbackError) throw new CliError(err.message);
      throw err;
    }
    if (!plan)
      return `${t.label} skipped rollback (current template already matches revision ${toRevision || "previous"})`;
    await client.update(t.info, t.namespace, plan.set as Parameters<ApiClient["update"]>[2]);
    return `${t.label} rolled back`;
  });
}
