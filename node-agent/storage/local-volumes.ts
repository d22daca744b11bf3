/**
 * The node half of the local-path provisioner: each PV the control plane provisioned on this node
 * is a directory `<stateDir>/storage/pvc-<uid>`, made when the first pod using its claim starts,
 * bind-mounted into that pod's containers, and removed once its PV is gone (reclaim Delete). The
 * agent never creates or deletes PV objects; it only acts on PVs whose affinity names this node and
 * whose path lies directly under its storage dir, so a PV naming another path (an admin's static
 * local volume) is mounted as it is but never created or removed here.
 *
 * Capacity is not enforced: that needs project quotas (ext4/XFS mounted with prjquota), which the
 * agent does not set; `capacityNotEnforcedReason` says so, naming the filesystem, for the pod's event.
 */

import { statfsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { PersistentVolume, PersistentVolumeClaim } from "../../proto/gen/api.js";

const hostnameLabel = "kubernetes.io/hostname";
const volumeDirRe = /^pvc-[0-9a-f-]+$/;

export class LocalVolumeError extends Error {
  constructor(claim: string, why: string) {
    super(`persistentvolumeclaim "${claim}": ${why}`);
    this.name = "LocalVolumeError";
  }
}

export const localStorageDir = (stateDir: string): string => join(stateDir, "storage");

/** The filesystem's size under `dir` (or its nearest existing parent), as an `ephemeral-storage` quantity. */
export function diskCapacity(dir: string): string {
  let at = dir;
  for (;;) {
    try {
      const s = statfsSync(at);
      return String(s.blocks * s.bsize);
    } catch {
      if (dirname(at) === at) return "0";
      at = dirname(at);
    }
  }
}

/** True when the PV's node affinity is exactly this node by hostname. */
export function affinityIsNode(pv: PersistentVolume, node: string): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return true;
  return terms.some((t) =>
    (t.matchExpressions ?? []).every(
      (e) => e.key === hostnameLabel && e.operator === "In" && (e.values ?? []).includes(node),
    ),
  );
}

export interface ClaimSources {
  claim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  volume(namespace: string, name: string): Promise<PersistentVolume | undefined>;
}

/**
 * The host directory of the volume bound to claim `namespace/name`, made when it is a local-path
 * volume of this node that does not exist yet. Throws LocalVolumeError (the pod's FailedMount,
 * retried) while the claim is unbound or its volume lives elsewhere.
 */
export async function claimDirectory(
  sources: ClaimSources,
  node: string,
  storageDir: string,
  namespace: string,
  name: string,
): Promise<string> {
  const claim = await sources.claim(namespace, name);
  if (!claim) throw new LocalVolumeError(name, "not found");
  const volumeName = claim.spec?.volumeName;
  if (!volumeName) throw new LocalVolumeError(name, "not bound to a volume yet");
  const pv = await sources.volume(namespace, volumeName);
  if (!pv) throw new LocalVolumeError(name, `its volume "${volumeName}" does not exist`);
  if (!affinityIsNode(pv, node))
    throw new LocalVolumeError(name, `volume "${volumeName}" is not reachable from node "${node}"`);
  const path = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
  if (!path?.startsWith("/")) throw new LocalVolumeError(name, `volume "${volumeName}" has no absolute path`);
  if (dirname(path) === storageDir && basename(path) === volumeName && volumeDirRe.test(volumeName)) {
    const created = await mkdir(path, { recursive: true });
    // Writable by every user, as local-path-provisioner makes it: containers may run as any uid.
    if (created) await chmod(path, 0o777);
    return path;
  }
  const exists = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists)
    throw new LocalVolumeError(name, `volume "${volumeName}" path ${path} does not exist on this node`);
  return path;
}

/**
 * Removes the directories under `storageDir` whose PV no longer exists (`exists` answers false
 * only on NotFound). Returns the names removed. A PV goes only once its claim is gone.
 */
export async function removeReclaimedVolumes(
  storageDir: string,
  exists: (volumeName: string) => Promise<boolean>,
): Promise<string[]> {
  const names = await readdir(storageDir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!volumeDirRe.test(name)) continue;
    if (await exists(name)) continue;
    // rm does not follow symlinks a pod left inside: only this tree goes.
    await rm(join(storageDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Why capacity cannot be enforced under `dir`. It could only be with project quotas (ext4/XFS
 * mounted with `prjquota`), which the agent does not set yet; the reason names the filesystem.
 */
export async function capacityNotEnforcedReason(dir: string): Promise<string> {
  const mounts = (await readFile("/proc/self/mounts", "utf8")).split("\n").map((l) => l.split(" "));
  const best = mounts
    .filter((m) => m[1] && (dir === m[1] || dir.startsWith(m[1] === "/" ? "/" : `${m[1]}/`)))
    .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0))[0];
  const where = `${best?.[2] ?? "unknown filesystem"} at ${best?.[1] ?? "?"}`;
  const opts = (best?.[3] ?? "").split(",");
  if (opts.some((o) => o === "prjquota" || o === "pquota"))
    return `${where} has project quotas, but the agent does not set them yet`;
  return `${where} is not mounted with project quotas (prjquota)`;
}

/** Runs `removeReclaimedVolumes` every `periodMs` until the returned stop is called. */
export function startVolumeReclaimer(
  storageDir: string,
  exists: (volumeName: string) => Promise<boolean>,
  periodMs: number,
  onError: (err: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    removeReclaimedVolumes(storageDir, exists).catch(onError);
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
