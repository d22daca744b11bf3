/** This host's own address, for what other hosts and pods must reach (a node's InternalIP, DNS). */
import { networkInterfaces } from "node:os";

/** The first non-internal IPv4 address, or 127.0.0.1 on a host with none. */
export function primaryIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}
