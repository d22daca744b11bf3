/**
 * A host-wide lock around choosing a lab's subnet and creating its network, so two `lab up` running
 * at once cannot pick the same /16.
 */
import { join } from "node:path";
import { PidLockBusyError, type Release, takePidLock } from "../../foundation/util/pid-lock.js";
import { LabError } from "./errors.js";

/** Host-wide, whatever registry a lab uses: labs with different registries still share subnets. */
export const HOST_LOCK_DIR = "/run/kctl";

/** Takes the lock in `dir`, waiting up to `timeoutMs` for another holder. */
export async function takeLabLock(dir: string, timeoutMs = 30_000): Promise<Release> {
  const file = join(dir, ".lock");
  try {
    return await takePidLock(file, timeoutMs);
  } catch (err) {
    if (!(err instanceof PidLockBusyError)) throw err;
    throw new LabError(
      "Busy",
      `another lab is being created (lock ${file}, pid ${err.holder}); try again, or remove the lock if stale`,
    );
  }
}
