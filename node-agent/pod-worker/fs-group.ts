/**
 * A pod's `securityContext.fsGroup` applied to one of its volumes, as the kubelet's
 * SetVolumeOwnership does: everything in the volume becomes group-owned by fsGroup and
 * group-readable (and group-writable unless the volume is read-only: configMap and secret), and
 * directories get the setgid bit and group search, so files the containers create later inherit
 * the group.
 *
 * The walk never follows a symlink: symlinks are themselves re-owned (lchown) and not descended
 * into or chmod-ed, and every other entry is opened with O_NOFOLLOW and changed through its
 * descriptor. Directory components above an entry are still looked up by path, so the caller must
 * apply it before any container of the pod can write to the volume (right after the volume is
 * populated, before the first container starts).
 */
import { constants } from "node:fs";
import { lchown, lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";

const rwMask = 0o660;
const roMask = 0o440;
const dirMask = 0o2110; // setgid + search for owner and group

export interface FsGroupOptions {
  /** configMap and secret volumes: group read, not write (the kubelet's roMask). */
  readOnly?: boolean;
}

/** Applies `fsGroup` to `dir` and everything beneath it; see the module comment for the contract. */
export async function applyFsGroup(dir: string, fsGroup: number, opts: FsGroupOptions = {}): Promise<void> {
  const mask = opts.readOnly ? roMask : rwMask;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path);
    if (st.isSymbolicLink()) {
      await lchown(path, st.uid, fsGroup);
      return;
    }
    if (st.isSocket()) {
      // Cannot be opened; owner change only, like a symlink.
      await lchown(path, st.uid, fsGroup);
      return;
    }
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const now = await file.stat();
      await file.chown(now.uid, fsGroup);
      await file.chmod((now.mode & 0o7777) | mask | (now.isDirectory() ? dirMask : 0));
      if (!now.isDirectory()) return;
    } finally {
      await file.close();
    }
    for (const name of await readdir(path)) await visit(join(path, name));
  };
  await visit(dir);
}
