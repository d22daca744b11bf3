import { describe, expect, it } from "vitest";
import { cidrContains, formatCidr, formatIPv4, nthAddress, nthSubnet, parseCidr, parseIPv4 } from "./ipv4.js";

describe("ipv4", () => {
  it("parses and formats addresses", () => {
    expect(formatIPv4(parseIPv4("10.244.3.17"))).toBe("10.244.3.17");
    expect(parseIPv4("255.255.255.255")).toBe(2 ** 32 - 1);
    for (const bad of ["10.0.0", "10.0.0.256", "a.b.c.d", "10.0.0.1.2", ""]) {
      expect(() => parseIPv4(bad), bad).toThrow(/want a dotted IPv4 address/);
    }
  });

  it("parses CIDRs and refuses host bits", () => {
    expect(formatCidr(parseCidr("10.244.0.0/16"))).toBe("10.244.0.0/16");
    expect(() => parseCidr("10.244.1.0/16")).toThrow(/host bits are set.*10.244.0.0\/16/);
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/want a CIDR/);
    expect(() => parseCidr("10.0.0.0")).toThrow(/want a CIDR/);
  });

  it("computes nth addresses and subnets", () => {
    const net = parseCidr("10.244.0.0/16");
    expect(formatCidr(nthSubnet(net, 24, 3))).toBe("10.244.3.0/24");
    expect(() => nthSubnet(net, 24, 256)).toThrow(RangeError);
    const sub = nthSubnet(net, 24, 1);
    expect(formatIPv4(nthAddress(sub, 1))).toBe("10.244.1.1");
    expect(cidrContains(sub, parseIPv4("10.244.1.254"))).toBe(true);
    expect(cidrContains(sub, parseIPv4("10.244.2.1"))).toBe(false);
  });
});
