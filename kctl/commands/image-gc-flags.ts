/**
 * `--image-gc-high-threshold` and `--image-gc-low-threshold` (percent of the image filesystem),
 * shared by `kctl join` and `kctl up`: the kubelet's imageGCHigh/LowThresholdPercent, 85 and 80.
 */
import {
  checkImageGcThresholds,
  DEFAULT_IMAGE_GC_HIGH_PERCENT,
  DEFAULT_IMAGE_GC_LOW_PERCENT,
  type ImageGcThresholds,
} from "../../node-agent/runtime/images/index.js";
import type { FlagSpec, Flags } from "../args.js";
import { UsageError } from "../errors.js";

const HIGH = "image-gc-high-threshold";
const LOW = "image-gc-low-threshold";

export const imageGcFlags: FlagSpec[] = [
  {
    name: HIGH,
    kind: "int",
    placeholder: "PERCENT",
    help: `remove unused images once the image filesystem is this full (default ${DEFAULT_IMAGE_GC_HIGH_PERCENT})`,
  },
  {
    name: LOW,
    kind: "int",
    placeholder: "PERCENT",
    help: `... down to this (default ${DEFAULT_IMAGE_GC_LOW_PERCENT})`,
  },
];

/** The agent option, empty when neither flag is given. */
export function imageGcOption(flags: Flags): { imageGc?: ImageGcThresholds } {
  const high = flags.int(HIGH);
  const low = flags.int(LOW);
  if (high === undefined && low === undefined) return {};
  try {
    return {
      imageGc: checkImageGcThresholds(
        {
          highPercent: high ?? DEFAULT_IMAGE_GC_HIGH_PERCENT,
          lowPercent: low ?? DEFAULT_IMAGE_GC_LOW_PERCENT,
        },
        { high: `--${HIGH}`, low: `--${LOW}` },
      ),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
