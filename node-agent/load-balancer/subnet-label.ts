/**
 * The `kctl.io/subnet` label an agent registers its Node with: the subnet of the interface holding
 * its InternalIP, as this process's network namespace sees it. The election reads it to give an
 * address to a host whose ARP answers are heard on the address's subnet.
 */
import { networkInterfaces } from "node:os";
import { formatCidr, parseIPv4 } from "../../foundation/util/ipv4.js";
import { subnetLabel, subnetLabelValue } from "./election.js";

/** `{ "kctl.io/subnet": "10.1.2.0-24" }` for the interface holding `address`; none when no interface holds it. */
export function subnetLabels(address: string): Record<string, string> {
  for (const entries of Object.values(networkInterfaces())) {
    for (const e of entries ?? []) {
      if (e.family !== "IPv4" || e.address !== address || e.cidr === null) continue;
      const prefix = Number(e.cidr.split("/")[1]);
      if (prefix === 32) return {};
      const size = 2 ** (32 - prefix);
      const base = Math.floor(parseIPv4(address) / size) * size;
      return { [subnetLabel]: subnetLabelValue(formatCidr({ base, prefix })) };
    }
  }
  return {};
}
