/**
 * `--container-log-max-size SIZE` and `--container-log-max-files N`, shared by `kctl join` and
 * `kctl up`: when this node's runtime rotates a container's log (the kubelet's containerLogMaxSize
 * and containerLogMaxFiles). Given one, the other keeps its default.
 */
import { quantityValue } from "../../foundation/api/quantity.js";
import type { LogRotation } from "../../node-agent/runtime/oci/container-config.js";
import type { FlagSpec, Flags } from "../args.js";
import { UsageError } from "../errors.js";

// The kubelet's defaults, which kshim's monitor also applies when the config names none.
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_FILES = 5;
// What kshim accepts (its annotations' bounds).
const MIN_BYTES = 4096;
const MAX_BYTES = 2 ** 40;

export const containerLogMaxSizeFlag: FlagSpec = {
  name: "container-log-max-size",
  kind: "string",
  placeholder: "SIZE",
  help: "rotate a container's log once it would pass this size, e.g. 10Mi (default 10Mi)",
};

export const containerLogMaxFilesFlag: FlagSpec = {
  name: "container-log-max-files",
  kind: "int",
  placeholder: "N",
  help: `log files kept per container, the current one included, 2 to 1000 (default ${DEFAULT_MAX_FILES})`,
};

/** The agent option for the flags, empty when neither is given; refuses bad values naming the flag. */
export function logRotationOption(flags: Flags): { logRotation?: LogRotation } {
  const size = flags.string(containerLogMaxSizeFlag.name);
  const files = flags.int(containerLogMaxFilesFlag.name);
  if (size === undefined && files === undefined) return {};
  let maxBytes = DEFAULT_MAX_BYTES;
  if (size !== undefined) {
    let value: number;
    try {
      value = quantityValue(size);
    } catch {
      throw new UsageError(`--${containerLogMaxSizeFlag.name}: "${size}" is not a size (e.g. 10Mi, 500Ki)`);
    }
    if (!Number.isInteger(value) || value < MIN_BYTES || value > MAX_BYTES)
      throw new UsageError(
        `--${containerLogMaxSizeFlag.name}: ${size} must be a whole number of bytes from 4Ki to 1Ti`,
      );
    maxBytes = value;
  }
  const maxFiles = files ?? DEFAULT_MAX_FILES;
  if (maxFiles < 2 || maxFiles > 1000)
    throw new UsageError(`--${containerLogMaxFilesFlag.name}: ${maxFiles} must be from 2 to 1000`);
  return { logRotation: { maxBytes, maxFiles } };
}
