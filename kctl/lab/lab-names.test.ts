import { describe, expect, it } from "vitest";
import {
  hostNamespace,
  hostNamespacePattern,
  labAddresses,
  nodeAddress,
  rootVethName,
  subnetGateway,
  validateLabName,
  validateNodeCount,
} from "./lab-names.js";

describe("lab names", () => {
  it("accepts short lowercase names whose root veth fits in 15 bytes", () => {
    for (const ok of ["lab", "a", "e2e-1", "abcdefghij"]) {
      expect(() => validateLabName(ok)).not.toThrow();
      expect(rootVethName(ok).length).toBeLessThanOrEqual(15);
    }
  });

  it.each([
    ["", /not a valid lab name/],
    ["Lab", /not a valid lab name/],
    ["abcdefghijk", /1-10 characters/],
    ["1lab", /starting with a letter/],
    ["lab-", /not ending with "-"/],
    ["lab_x", /not a valid lab name/],
    ["a-node1", /must not end in -node<N>/],
  ])("refuses %j naming the flag", (name, why) => {
    expect(() => validateLabName(name)).toThrow(/^--name: /);
    expect(() => validateLabName(name)).toThrow(why);
  });

  it("matches only its own host namespaces", () => {
    const p = hostNamespacePattern("a");
    expect(p.test(hostNamespace("a", 12))).toBe(true);
    expect(p.test(hostNamespace("a-b", 1))).toBe(false);
    expect(p.test("kctl-a")).toBe(false);
  });

  it("refuses node counts out of range", () => {
    for (const bad of [0, -1, 1.5, 201, Number.NaN])
      expect(() => validateNodeCount(bad)).toThrow(/^--nodes: /);
    expect(() => validateNodeCount(200)).not.toThrow();
  });

  it("lays out a lab's /16", () => {
    const a = labAddresses(123);
    expect(a).toMatchObject({
      reserved: "10.123.0.0/16",
      subnet: "10.123.0.0/24",
      gateway: "10.123.0.1",
      transitRoot: "10.123.255.253",
      transitLab: "10.123.255.254",
    });
    expect(nodeAddress(a, 1)).toBe("10.123.0.11");
    expect(nodeAddress(a, 200)).toBe("10.123.0.210");
    // Over two subnets, hosts alternate: node1 and node3 on 10.123.0/24, node2 on 10.123.1/24.
    expect([1, 2, 3].map((i) => nodeAddress(a, i, 2))).toEqual(["10.123.0.11", "10.123.1.12", "10.123.0.13"]);
    expect(subnetGateway(a, 1)).toBe("10.123.1.1");
  });
});
