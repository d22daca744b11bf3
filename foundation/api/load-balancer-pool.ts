/**
 * The LoadBalancer address pool, read from the ConfigMap `kube-system/load-balancer-pool`, key
 * `addresses`: CIDRs (`192.168.1.240/28`) and ranges (`192.168.1.240-192.168.1.250`) separated by
 * commas or newlines, the syntax of MetalLB's address pools. A /32 is one address; in a CIDR wider
 * than /31 the network and broadcast addresses are left out, as MetalLB's `avoidBuggyIPs` does, so
 * clients behind old routers are not dropped.
 */
import { CidrError, cidrSize, formatIPv4, parseCidr, parseIPv4 } from "../util/ipv4.js";

export const poolNamespace = "kube-system";
export const poolConfigMap = "load-balancer-pool";
export const poolKey = "addresses";
/** A pool this large would be a mistake (a /8); refused so the controller never walks it. */
const maxPoolSize = 65_536;

/** A bad pool, naming the ConfigMap, its key and the entry. */
export class PoolError extends Error {
  constructor(
    /** The bad entry, as written. */
    readonly entry: string,
    /** What is wrong with it. */
    readonly why: string,
  ) {
    super(`ConfigMap ${poolNamespace}/${poolConfigMap} data.${poolKey}: ${JSON.stringify(entry)}: ${why}`);
    this.name = "PoolError";
  }
}

export interface Pool {
  /** Every usable address, ascending, each once. */
  readonly addresses: readonly string[];
  has(ip: string): boolean;
}

/** Parses the pool text; throws PoolError for the first bad entry. Empty text is an empty pool. */
export function parsePool(text: string): Pool {
  const numbers = new Set<number>();
  for (const raw of text.split(/[,\n]/)) {
    const entry = raw.trim();
    if (entry === "" || entry.startsWith("#")) continue;
    try {
      if (entry.includes("/")) {
        const cidr = parseCidr(entry);
        const size = cidrSize(cidr);
        const [first, last] = size > 2 ? [1, size - 2] : [0, size - 1];
        if (numbers.size + (last - first + 1) > maxPoolSize)
          throw new PoolError(entry, `more than ${maxPoolSize} addresses`);
        for (let i = first; i <= last; i++) numbers.add(cidr.base + i);
      } else {
        const [from, to = from, extra] = entry.split("-").map((s) => s.trim());
        if (extra !== undefined) throw new PoolError(entry, "want a CIDR or a range FIRST-LAST");
        const lo = parseIPv4(from!);
        const hi = parseIPv4(to);
        if (hi < lo) throw new PoolError(entry, "the range ends before it starts");
        if (numbers.size + (hi - lo + 1) > maxPoolSize)
          throw new PoolError(entry, `more than ${maxPoolSize} addresses`);
        for (let n = lo; n <= hi; n++) numbers.add(n);
      }
    } catch (err) {
      if (err instanceof CidrError) throw new PoolError(entry, err.message);
      throw err;
    }
  }
  const addresses = [...numbers].sort((a, b) => a - b).map(formatIPv4);
  const set = new Set(addresses);
  return { addresses, has: (ip) => set.has(ip) };
}
