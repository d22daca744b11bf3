/**
 * A slow disk for the processes of one cgroup: cgroup v1 blkio throttling of writes (bytes and
 * operations per second) on the disk that holds a path. The soak throttles a control plane's
 * cgroup, which holds its etcd member, so the member's WAL writes and fsyncs crawl while the rest
 * of the machine's disk use does not. Device-mapper's delay target would slow every writer of a
 * loop device instead, but this machine's kernel has no device-mapper (no /dev/mapper/control, no
 * modules), so blkio it is; a host with only cgroup v2 is refused with a message naming why.
 */
import { access, readFile, readlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { unescapeMountPath } from "../../node-agent/cgroups/hierarchies-linux.js";

export class SlowDiskError extends Error {
  constructor(message: string) {
    super(`slow disk: ${message}`);
  }
}

/** `major:minor` of the whole disk holding `path` (blkio throttles disks, not partitions). */
export async function diskOf(path: string): Promise<string> {
  let best: { point: string; device: string } | undefined;
  for (const line of (await readFile("/proc/self/mountinfo", "utf8")).split("\n")) {
    const fields = line.split(" ");
    const point = unescapeMountPath(fields[4] ?? "");
    const inside = point === "/" || path === point || path.startsWith(`${point}/`);
    if (fields[2] && inside && point.length >= (best?.point.length ?? 0)) best = { point, device: fields[2] };
  }
  if (!best) throw new SlowDiskError(`no mount holds ${path}`);
  const sys = `/sys/dev/block/${best.device}`;
  if (
    !(await access(sys).then(
      () => true,
      () => false,
    ))
  ) {
    throw new SlowDiskError(
      `${path} is on ${best.point} (device ${best.device}), which is not a block device`,
    );
  }
  const isPartition = await access(join(sys, "partition")).then(
    () => true,
    () => false,
  );
  if (!isPartition) return best.device;
  const disk = dirname(resolve("/sys/dev/block", await readlink(sys)));
  return (await readFile(join(disk, "dev"), "utf8")).trim();
}

/** The blkio directory among a component's cgroup directories. */
export function blkioDir(cgroups: readonly string[]): string {
  const dir = cgroups.find((d) => d.includes("/blkio/") || d.endsWith("/blkio"));
  if (!dir) {
    throw new SlowDiskError(
      `no cgroup v1 blkio hierarchy among ${cgroups.join(", ") || "(none)"}; throttling needs it on this kernel`,
    );
  }
  return dir;
}

export interface WriteLimit {
  bytesPerSecond: number;
  opsPerSecond: number;
}

async function writeRule(dir: string, file: string, device: string, value: number): Promise<void> {
  try {
    await writeFile(join(dir, file), `${device} ${value}\n`);
  } catch (err) {
    throw new SlowDiskError(`${join(dir, file)} <- "${device} ${value}": ${(err as Error).message}`);
  }
}

/** Throttles writes of the processes in blkio cgroup `dir` to `device`; a limit of 0 lifts it. */
export async function throttleWrites(dir: string, device: string, limit: WriteLimit): Promise<void> {
  await writeRule(dir, "blkio.throttle.write_bps_device", device, limit.bytesPerSecond);
  await writeRule(dir, "blkio.throttle.write_iops_device", device, limit.opsPerSecond);
}

export const unthrottled: WriteLimit = { bytesPerSecond: 0, opsPerSecond: 0 };
