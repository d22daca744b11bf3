/**
 * Image garbage collection as the kubelet does it: when the filesystem holding the image store is
 * used above a high threshold (percent), images no container uses are removed, least recently used
 * first, until usage is back to the low threshold. Removing an image removes its names, then every
 * blob and unpacked layer that no remaining image and no container rootfs refers to.
 *
 * The store is the only writer of `<images>/`; this module decides, the store does the removing
 * under its import lock (see `ImageStore.garbageCollect`).
 */
import { statfs } from "node:fs/promises";
import { ImageError } from "./errors.js";

/** The kubelet's defaults (imageGCHighThresholdPercent, imageGCLowThresholdPercent). */
export const DEFAULT_IMAGE_GC_HIGH_PERCENT = 85;
export const DEFAULT_IMAGE_GC_LOW_PERCENT = 80;

export interface ImageGcThresholds {
  highPercent: number;
  lowPercent: number;
}

/** Checks thresholds, naming `where` (a flag or option) in the error. */
export function checkImageGcThresholds(
  t: ImageGcThresholds,
  where: { high: string; low: string },
): ImageGcThresholds {
  for (const [value, name] of [
    [t.highPercent, where.high],
    [t.lowPercent, where.low],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 100)
      throw new ImageError("Invalid", `${name}: ${value} must be a whole percentage from 0 to 100`);
  }
  if (t.lowPercent > t.highPercent)
    throw new ImageError(
      "Invalid",
      `${where.low}: ${t.lowPercent} must not be above ${where.high} (${t.highPercent})`,
    );
  return t;
}

export interface FsUsage {
  capacity: number;
  used: number;
}

export async function fsUsage(path: string): Promise<FsUsage> {
  const s = await statfs(path);
  const capacity = s.blocks * s.bsize;
  return { capacity, used: capacity - s.bavail * s.bsize };
}

/**
 * Bytes to free so that usage gets down to `lowPercent`, or 0 while it is at or below
 * `highPercent` (the kubelet's rule; usage is counted as the kubelet does, from available blocks).
 */
export function bytesToFree(usage: FsUsage, t: ImageGcThresholds): number {
  if (usage.capacity <= 0) return 0;
  if ((usage.used * 100) / usage.capacity < t.highPercent) return 0;
  return Math.max(0, usage.used - Math.floor((usage.capacity * t.lowPercent) / 100));
}

export interface GcCandidate {
  manifestDigest: string;
  lastUsedMs: number;
}

/** Unused images in the order they go: least recently used first. */
export function removalOrder(images: readonly GcCandidate[], inUse: ReadonlySet<string>): GcCandidate[] {
  return images
    .filter((i) => !inUse.has(i.manifestDigest))
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs || (a.manifestDigest < b.manifestDigest ? -1 : 1));
}
