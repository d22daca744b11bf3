/**
 * `--pod-pids-limit N`, shared by `kctl join` and `kctl up`: the most processes and threads one pod
 * may run on this node (the kubelet's podPidsLimit), -1 for no limit.
 */
import { checkPodPidsLimit, DEFAULT_POD_PIDS_LIMIT } from "../../node-agent/cgroups/pod-cgroups.js";
import type { FlagSpec, Flags } from "../args.js";
import { UsageError } from "../errors.js";

export const podPidsLimitFlag: FlagSpec = {
  name: "pod-pids-limit",
  kind: "int",
  placeholder: "N",
  help: `most processes and threads per pod on this node; -1 for no limit (default ${DEFAULT_POD_PIDS_LIMIT})`,
};

/** The agent option for the flag, empty when it is absent; refuses 0 and values below -1. */
export function podPidsLimitOption(flags: Flags): { podPidsLimit?: number } {
  const value = flags.int(podPidsLimitFlag.name);
  if (value === undefined) return {};
  try {
    return { podPidsLimit: checkPodPidsLimit(value, `--${podPidsLimitFlag.name}`) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
