/**
 * Pod networking on a node: the bridge holding the node's gateway, one network namespace per pod
 * (held by a bind mount, no pause process) joined to the bridge by a veth pair, host-local IPAM on
 * disk, and the pod's hosts/resolv.conf/hostname files.
 *
 * It owns, beneath the agent's state dir, `netns/`, `ipam/` and `pods/<uid>/network/`, and in the
 * node's network namespace the bridge and the `kveth*` interfaces. It must never touch other
 * interfaces, routes or firewall rules of the host (the service proxy owns nftables), and never
 * anything outside the namespace it is given.
 */
export { type Ipv4Cidr, parseIpv4Cidr } from "./cidr.js";
export { NetworkError, type NetworkErrorCode } from "./errors.js";
export { HostLocalIpam } from "./ipam.js";
export type { DnsConfig, HostAlias, PodFilePaths } from "./pod-files.js";
export {
  DEFAULT_BRIDGE,
  DEFAULT_MTU,
  PodNetwork,
  type PodNetworkConfig,
  type Sandbox,
  type SandboxRequest,
} from "./sandbox-linux.js";
export { hostVethName } from "./veth-name.js";
