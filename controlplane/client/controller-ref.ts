/**
 * Ownership through controller references (kube-controller-manager's ControllerRefManager), shared
 * by the ReplicaSet controller (owning pods) and the Deployment controller (owning ReplicaSets).
 * An owner claims the objects its selector matches: it keeps what it already controls, adopts
 * matching orphans, and releases what it controls but no longer matches. It never touches objects
 * another controller owns. Writes are merge patches guarded by the child's resourceVersion, so a
 * decision made on a stale cache fails with Conflict instead of overwriting someone else's claim.
 */

import { ApiError, isApiError } from "../../foundation/api/errors.js";
import { matchesSelector, type Selector } from "../../foundation/api/labels.js";
import { controllerRefOf, newControllerRef } from "../../foundation/api/owner-references.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import type { ApiObject, ControllerClient } from "./controller-client.js";

export interface ClaimParams {
  owner: DeepReadonly<ApiObject>;
  ownerInfo: ResourceInfo;
  selector: Selector;
  childInfo: ResourceInfo;
  client: ControllerClient;
}

/**
 * Returns the children `owner` controls after claiming: those it controlled and still match, plus
 * the orphans it adopted. Releases controlled children that stopped matching (unless the owner is
 * being deleted, when the garbage collector decides). Children gone meanwhile are skipped. Throws
 * the first write error after attempting every child, so one bad child does not starve the others.
 */
export async function claimChildren<T extends ApiObject>(
  children: readonly DeepReadonly<T>[],
  p: ClaimParams,
): Promise<DeepReadonly<T>[]> {
  const ownerUid = p.owner.metadata.uid;
  const ownerDeleting = Boolean(p.owner.metadata.deletionTimestamp);
  const claimed: DeepReadonly<T>[] = [];
  const errors: unknown[] = [];
  let ownerChecked: Promise<void> | undefined;
  for (const child of children) {
    if (child.metadata.namespace !== p.owner.metadata.namespace) continue;
    const ref = controllerRefOf(child);
    const matches = matchesSelector(p.selector, child.metadata.labels);
    try {
      if (ref) {
        if (ref.uid !== ownerUid) continue;
        if (matches) claimed.push(child);
        else if (!ownerDeleting) await release(child, p);
        continue;
      }
      if (ownerDeleting || !matches || child.metadata.deletionTimestamp) continue;
      // Adoption changes ownership on the server, so it rests on a fresh read of the owner, once.
      ownerChecked ??= recheckOwner(p);
      await ownerChecked;
      claimed.push(await adopt(child, p));
    } catch (err) {
      if (!isApiError(err, "NotFound")) errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
  return claimed;
}

async function recheckOwner(p: ClaimParams): Promise<void> {
  const { namespace = "", name = "", uid } = p.owner.metadata;
  const fresh = await p.client.get(p.ownerInfo, namespace, name);
  if (fresh.metadata.uid !== uid) {
    throw new ApiError(
      "Conflict",
      `${p.ownerInfo.kind} ${namespace}/${name} was replaced (uid ${fresh.metadata.uid}, expected ${uid}); not adopting`,
    );
  }
  if (fresh.metadata.deletionTimestamp) {
    throw new ApiError(
      "Conflict",
      `${p.ownerInfo.kind} ${namespace}/${name} is being deleted since ${fresh.metadata.deletionTimestamp}; not adopting`,
    );
  }
}

async function adopt<T extends ApiObject>(child: DeepReadonly<T>, p: ClaimParams): Promise<DeepReadonly<T>> {
  const refs = [...(child.metadata.ownerReferences ?? []), newControllerRef(p.owner)];
  return p.client.patch<T>(p.childInfo, child.metadata.namespace ?? "", child.metadata.name ?? "", {
    metadata: { ownerReferences: refs, resourceVersion: child.metadata.resourceVersion },
  }) as Promise<DeepReadonly<T>>;
}

async function release<T extends ApiObject>(child: DeepReadonly<T>, p: ClaimParams): Promise<void> {
  const refs = (child.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== p.owner.metadata.uid);
  await p.client.patch(p.childInfo, child.metadata.namespace ?? "", child.metadata.name ?? "", {
    metadata: {
      ownerReferences: refs.length > 0 ? refs : null,
      resourceVersion: child.metadata.resourceVersion,
    },
  });
}
