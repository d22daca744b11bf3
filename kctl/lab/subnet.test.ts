import { describe, expect, it } from "vitest";
import { LabError } from "./errors.js";
import { parseCidr, pickSubnetIndex } from "./subnet.js";

describe("parseCidr", () => {
  it("reads prefixes and bare addresses, and nothing else", () => {
    expect(parseCidr("10.100.0.0/16")).toEqual({ first: 0x0a640000, last: 0x0a64ffff });
    expect(parseCidr("10.100.3.7")).toEqual({ first: 0x0a640307, last: 0x0a640307 });
    expect(parseCidr("10.100.3.7/24")).toEqual({ first: 0x0a640300, last: 0x0a6403ff });
    for (const bad of ["default", "fe80::1/64", "10.1.2/24", "10.1.2.300/8", "10.1.2.3/33"]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});

describe("pickSubnetIndex", () => {
  it("takes the first /16 that overlaps no route or address, ignoring default routes", () => {
    expect(pickSubnetIndex(["0.0.0.0/0", "192.0.2.0/24", "127.0.0.0/8"])).toBe(100);
    expect(pickSubnetIndex(["10.100.0.1", "10.101.255.252/30", "10.102.7.0/24"])).toBe(103);
  });

  it("treats a wider route covering the range as taken, and says so when nothing is left", () => {
    expect(pickSubnetIndex(["10.96.0.0/12"])).toBe(112);
    const err = (() => {
      try {
        pickSubnetIndex(["10.0.0.0/8"]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe("NoFreeSubnet");
  });
});
