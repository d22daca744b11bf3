import { describe, expect, it } from "vitest";
import { PoolError, parsePool } from "./load-balancer-pool.js";

describe("load balancer pool", () => {
  it("reads ranges and CIDRs, leaving out a CIDR's network and broadcast addresses", () => {
    expect(parsePool("192.0.2.10-192.0.2.12, 198.51.100.0/30\n# spare\n198.51.100.9/32").addresses).toEqual([
      "192.0.2.10",
      "192.0.2.11",
      "192.0.2.12",
      "198.51.100.1",
      "198.51.100.2",
      "198.51.100.9",
    ]);
    expect(parsePool("").addresses).toEqual([]);
  });

  it.each([
    ["192.0.2.300", /192\.0\.2\.300/],
    ["192.0.2.20-192.0.2.10", /ends before it starts/],
    ["10.0.0.0/8", /more than 65536/],
    ["1.2.3.4-1.2.3.5-1.2.3.6", /FIRST-LAST/],
  ])("refuses %s naming the ConfigMap key", (text, why) => {
    expect(() => parsePool(text)).toThrow(PoolError);
    expect(() => parsePool(text)).toThrow(/ConfigMap kube-system\/load-balancer-pool data\.addresses/);
    expect(() => parsePool(text)).toThrow(why);
  });
});
