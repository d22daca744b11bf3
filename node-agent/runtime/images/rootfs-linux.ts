/**
 * Container root filesystems: an overlayfs whose lower layers are the image's shared layer dirs and
 * whose upper and work dirs belong to the container, under `<images>/rootfs/<containerId>/`.
 * Mounting is idempotent: a mount already in place for the same image is reused, anything else
 * there (stacked mounts, another image's) is unmounted first, so a re-run after a crash never stacks.
 * Mounts and unmounts go through one long-lived helper (native/tools/rootfs-mount.c), not a
 * `mount` or `umount` process each.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { nativeBuildPath } from "../../util/native-build.js";
import { NativeHelper } from "../../util/native-helper.js";
import { ImageError } from "./errors.js";
import { mountCount, parseMountPoints } from "./mountinfo-linux.js";

const helper = new NativeHelper({
  start: () => spawn(nativeBuildPath("rootfs-mount"), [], { stdio: ["pipe", "pipe", "pipe"] }),
  failure: (what, message) => new ImageError("SystemError", `rootfs-mount ${what}: ${message}`),
});

export interface RootfsLayout {
  /** `<images>/rootfs/<containerId>` */
  dir: string;
  /** Layer dirs, bottom first, all in one parent directory. */
  layers: readonly string[];
  /** Image the upper dir was made for; another image's upper dir is thrown away. */
  imageId: string;
}

export interface RootfsRecord {
  imageId: string;
  layers: string[];
}

/** The records of every container rootfs under `root` (`<images>/rootfs`): what containers use. */
export async function rootfsRecords(root: string): Promise<RootfsRecord[]> {
  const names = await readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const records: RootfsRecord[] = [];
  for (const name of names) {
    const record = await readRecord(join(root, name, "rootfs.json"));
    if (record) records.push(record);
  }
  return records;
}

export function mergedPath(dir: string): string {
  return join(dir, "merged");
}

/** Mounts (or reuses) the overlay for `layout` and returns the merged path. */
export async function mountRootfs(layout: RootfsLayout): Promise<string> {
  const merged = mergedPath(layout.dir);
  const recordPath = join(layout.dir, "rootfs.json");
  const record = await readRecord(recordPath);
  const same = record?.imageId === layout.imageId && record.layers.join(":") === layout.layers.join(":");
  const mounted = await mountCount(merged);
  if (same && mounted === 1) return merged;
  if (mounted > 0) await unmountAll(merged);
  if (record && record.imageId !== layout.imageId) await rm(layout.dir, { recursive: true, force: true });

  const upper = join(layout.dir, "upper");
  const work = join(layout.dir, "work");
  for (const d of [upper, work, merged]) await mkdir(d, { recursive: true, mode: 0o755 });
  const temp = `${recordPath}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(
    temp,
    JSON.stringify({ imageId: layout.imageId, layers: [...layout.layers] } satisfies RootfsRecord),
  );
  await rename(temp, recordPath);

  for (const p of [upper, work]) {
    if (/[,:\\]/.test(p))
      throw new ImageError(
        "SystemError",
        `rootfs dir ${p} contains ',', ':' or '\\', which overlayfs options cannot carry`,
      );
  }
  const layersRoot = dirname(layout.layers[0] ?? layout.dir);
  // Layers go top first and relative to their common parent (the mount runs there): the mount data
  // is one page, and 64-character names let about 60 layers fit where absolute paths would not.
  const lower = layout.layers
    .map((l) => {
      if (dirname(l) !== layersRoot)
        throw new ImageError("SystemError", `layer ${l} is not in ${layersRoot}`);
      return basename(l);
    })
    .reverse()
    .join(":");
  // The helper mounts nodev: a device node in the image or made in the upper dir is no handle on a
  // host device (the runtime's /dev is a tmpfs mounted on top, where the default devices live). Not
  // nosuid: images rely on setuid binaries (su, ping, passwd) as they would under containerd.
  const options = `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
  try {
    await helper.request(["mount", layersRoot, options, merged]);
  } catch (err) {
    throw new ImageError("SystemError", `mount rootfs ${merged}: ${(err as Error).message}`, { cause: err });
  }
  return merged;
}

/** Unmounts the rootfs in `dir` (every stacked mount) and deletes the dir. Idempotent. */
export async function removeRootfs(dir: string): Promise<void> {
  await unmountAll(mergedPath(dir));
  await rm(dir, { recursive: true, force: true });
}

async function unmountAll(path: string): Promise<void> {
  for (let round = 0; (await mountCount(path)) > 0; round++) {
    if (round === 8)
      throw new ImageError("SystemError", `cannot unmount ${path}: still mounted after 8 attempts`);
    if (round < 2) {
      // Everything at or below the path, the latest first (as `umount --recursive` does).
      const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
      const points = parseMountPoints(mountinfo).filter((p) => p === path || p.startsWith(`${path}/`));
      for (const p of points.reverse()) await helper.request(["umount", p]).catch(() => undefined);
    } else {
      // A busy rootfs (a process still inside) is detached lazily so the dir can go.
      await helper.request(["umount-lazy", path]).catch(() => undefined);
    }
  }
}

async function readRecord(path: string): Promise<RootfsRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as RootfsRecord;
  } catch {
    return undefined;
  }
}
