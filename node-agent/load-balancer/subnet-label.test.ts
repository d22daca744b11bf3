import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { subnetLabels } from "./subnet-label.js";

describe("subnetLabels", () => {
  it("names the subnet of the interface holding the address", () => {
    const loopback = Object.values(networkInterfaces())
      .flat()
      .find((e) => e?.family === "IPv4" && e.address === "127.0.0.1");
    // 127.0.0.1/8 on lo: every Linux namespace has it.
    expect(loopback?.cidr).toBe("127.0.0.1/8");
    expect(subnetLabels("127.0.0.1")).toEqual({ "kctl.io/subnet": "127.0.0.0-8" });
  });

  it("gives no label for an address no interface holds", () => {
    expect(subnetLabels("192.0.2.77")).toEqual({});
  });
});
