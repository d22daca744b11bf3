/**
 * LoadBalancer addresses on the hosts' network (MetalLB's L2 mode): which node announces each
 * address (election.ts, the same answer on every agent) and the announcing itself (the address on
 * the node's interface plus a gratuitous ARP, announcer-linux.ts). It never allocates addresses
 * (the control plane's load-balancer controller does) and never programs traffic (the proxy does).
 */
export { type AnnouncerConfig, LoadBalancerAnnouncer } from "./announcer-linux.js";
export { addressesToAnnounce, electAnnouncer, excludeLabel, type NodeInput } from "./election.js";
export { subnetLabels } from "./subnet-label.js";
