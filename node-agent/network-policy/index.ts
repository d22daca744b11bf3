/**
 * NetworkPolicy (networking.k8s.io/v1) enforcement for the pods of this node, in nftables: a table
 * of its own (`inet kctl-netpol`) with a set of pod IPs per selected peer and a chain per isolated
 * pod and direction, reached from a forward hook that runs after the service proxy's DNAT. It owns
 * that table and nothing else: it must never touch the proxy's table, routes or links, and never
 * carry a packet itself. policy-model.ts is the semantics, ruleset.ts the nft text, enforcer.ts
 * the loop that applies it.
 */
export {
  type EnforcerConfig,
  type EnforcerSync,
  NetworkPolicyEnforcer,
  type PolicyInputKind,
} from "./enforcer.js";
