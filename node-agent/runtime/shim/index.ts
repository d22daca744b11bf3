/**
 * The OCI runtime driver of the node agent: turns one container of a pod into an OCI bundle
 * (`config.json` over an image rootfs) and drives a runtime binary (the project's shim, or runc/crun
 * as drop-in peers) through create, start, state, kill, delete and exec. It places containers'
 * cgroups beneath the agent's own cgroup.
 *
 * It owns the runtime's state root and the bundle dirs it is given; it never decides when a
 * container runs (the pod worker does) and never touches images or the pod network.
 */
export { agentCgroupParent, containerCgroupPath, podCgroupPath, removeCgroupTree } from "./cgroups-linux.js";
export { isRuntimeNotFound, RuntimeError, type RuntimeErrorCode } from "./errors.js";
export {
  type BindMount,
  buildOciConfig,
  type ContainerBundleSpec,
  cgroupResources,
  DEFAULT_CAPABILITIES,
  type OciConfig,
  processArgs,
  processEnv,
  resolveUser,
  writeBundle,
} from "./oci-config.js";
export {
  type ContainerRuntimeState,
  type ExecResult,
  OciRuntimeDriver,
  type RuntimeDriverOptions,
} from "./runtime-driver.js";
