/**
 * Runs the image store's GC every 5 minutes (the kubelet's ImageGCPeriod) with the node's
 * thresholds. A failed round is logged and the next one tried; rounds never overlap.
 */
import type { Clock, Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import type { ImageGcThresholds, ImageStore } from "../runtime/images/index.js";

export const IMAGE_GC_PERIOD_MS = 5 * 60_000;

const trace = tracer("image-gc");

export function startImageGc(
  images: ImageStore,
  thresholds: ImageGcThresholds,
  clock: Clock,
  periodMs = IMAGE_GC_PERIOD_MS,
): { stop(): void } {
  let timer: Timer | undefined;
  let stopped = false;
  const round = async () => {
    try {
      const { removed, freedBytes } = await images.garbageCollect(thresholds);
      if (removed.length > 0) trace(`removed ${removed.join(", ")}; freed ${freedBytes} bytes`);
    } catch (err) {
      trace(`image GC failed: ${(err as Error).message}`);
    }
    if (!stopped) timer = clock.setTimer(periodMs, () => void round());
  };
  timer = clock.setTimer(periodMs, () => void round());
  return {
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
