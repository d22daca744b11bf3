import { describe, expect, it } from "vitest";
import { formatIpv4, isPodAddress, parseIpv4, parseIpv4Cidr, podCapacity } from "./cidr.js";

describe("parseIpv4Cidr", () => {
  it("parses a /24 with gateway .1 and broadcast .255", () => {
    const c = parseIpv4Cidr("10.244.1.0/24");
    expect(c.text).toBe("10.244.1.0/24");
    expect(formatIpv4(c.gateway)).toBe("10.244.1.1");
    expect(formatIpv4(c.broadcast)).toBe("10.244.1.255");
    expect(podCapacity(c)).toBe(253);
    expect(isPodAddress(c, parseIpv4("10.244.1.2", "x"))).toBe(true);
    expect(isPodAddress(c, c.gateway)).toBe(false);
    expect(isPodAddress(c, c.network)).toBe(false);
    expect(isPodAddress(c, c.broadcast)).toBe(false);
  });

  it.each([
    ["10.244.1.0", /missing \/prefix/],
    ["10.244.1.0/31", /prefix length from 8 to 30/],
    ["10.244.1.0/x", /prefix length/],
    ["10.244.1.5/24", /host bits set \(network is 10.244.1.0\/24\)/],
    ["10.244.256.0/24", /not an IPv4 address/],
    ["10.244.01.0/24", /not an IPv4 address/],
    ["fd00::/64", /not an IPv4 address/],
  ])("refuses %s naming the field", (text, message) => {
    expect(() => parseIpv4Cidr(text, "spec.podCIDR")).toThrow(message);
    expect(() => parseIpv4Cidr(text, "spec.podCIDR")).toThrow(/^spec.podCIDR: /);
  });

  it("handles the top of the address space without sign trouble", () => {
    const c = parseIpv4Cidr("255.255.255.0/24");
    expect(formatIpv4(c.broadcast)).toBe("255.255.255.255");
  });
});
