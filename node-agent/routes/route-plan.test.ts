import { describe, expect, it } from "vitest";
import { type NodeInput, planRoutes, routeChanges } from "./route-plan.js";

function node(name: string, podCIDR?: string, ip?: string): NodeInput {
  return {
    metadata: { name },
    spec: podCIDR === undefined ? {} : { podCIDR },
    status: {
      addresses:
        ip === undefined
          ? []
          : [
              { type: "Hostname", address: name },
              { type: "InternalIP", address: ip },
            ],
    },
  };
}

describe("planRoutes", () => {
  it("routes every other node's podCIDR via its InternalIP and skips itself and registering nodes", () => {
    const plan = planRoutes(
      [
        node("n1", "10.244.1.0/24", "192.168.1.1"),
        node("n3", "10.244.3.0/24", "192.168.1.3"),
        node("n2", "10.244.2.0/24", "192.168.1.2"),
        node("n4"),
        node("n5", "10.244.5.0/24"),
      ],
      "n1",
    );
    expect(plan).toEqual({
      routes: new Map([
        ["10.244.2.0/24", "192.168.1.2"],
        ["10.244.3.0/24", "192.168.1.3"],
      ]),
      problems: [],
    });
  });

  it("names the node and field of bad values and of a podCIDR claimed twice", () => {
    const plan = planRoutes(
      [
        node("a", "10.244.1.0/33", "192.168.1.1"),
        node("b", "10.244.2.0/24", "192.168.1"),
        node("c", "10.244.3.0/24", "192.168.1.3"),
        node("d", "10.244.3.0/24", "192.168.1.4"),
      ],
      "self",
    );
    expect(plan.routes).toEqual(new Map([["10.244.3.0/24", "192.168.1.3"]]));
    expect(plan.problems).toEqual([
      'Node a: spec.podCIDR: "10.244.1.0/33" is not an IPv4 CIDR',
      'Node b: status.addresses[1].address: "192.168.1" is not an IPv4 address',
      "Node d: spec.podCIDR: 10.244.3.0/24 is also the podCIDR of Node c",
    ]);
  });
});

describe("routeChanges", () => {
  it("replaces missing or moved routes and deletes owned routes no node needs", () => {
    const current = new Map([
      ["10.244.2.0/24", "192.168.1.2"],
      ["10.244.3.0/24", "192.168.1.9"],
      ["10.244.9.0/24", "192.168.1.9"],
    ]);
    const desired = new Map([
      ["10.244.2.0/24", "192.168.1.2"],
      ["10.244.3.0/24", "192.168.1.3"],
      ["10.244.4.0/24", "192.168.1.4"],
    ]);
    expect(routeChanges(current, desired, 199)).toEqual([
      "route replace 10.244.3.0/24 via 192.168.1.3 proto 199",
      "route replace 10.244.4.0/24 via 192.168.1.4 proto 199",
      "route del 10.244.9.0/24 proto 199",
    ]);
    expect(routeChanges(desired, desired, 199)).toEqual([]);
  });
});
