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
        ["10.244.2.0/24", "via 192.168.1.2"],
        ["10.244.3.0/24", "via 192.168.1.3"],
      ]),
      overlayPeers: [],
      self: { underlayIP: "192.168.1.1", podCIDR: "10.244.1.0/24" },
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
    expect(plan.routes).toEqual(new Map([["10.244.3.0/24", "via 192.168.1.3"]]));
    expect(plan.problems).toEqual([
      'Node a: spec.podCIDR: "10.244.1.0/33" is not an IPv4 CIDR',
      'Node b: status.addresses[1].address: "192.168.1" is not an IPv4 address',
      "Node d: spec.podCIDR: 10.244.3.0/24 is also the podCIDR of Node c",
    ]);
  });
});

describe("planRoutes across subnets", () => {
  const onLink = (ip: string) => ip.startsWith("192.168.1.");

  it("routes on-link peers directly and the others through the overlay, to their VTEPs", () => {
    const plan = planRoutes(
      [
        node("n1", "10.244.1.0/24", "192.168.1.1"),
        node("n2", "10.244.2.0/24", "192.168.1.2"),
        node("n3", "10.244.3.0/24", "192.168.2.3"),
      ],
      "n1",
      onLink,
    );
    expect(plan.routes).toEqual(
      new Map([
        ["10.244.2.0/24", "via 192.168.1.2"],
        ["10.244.3.0/24", "via 10.244.3.0 dev kctl-vxlan onlink"],
      ]),
    );
    expect(plan.overlayPeers).toEqual([
      { vtep: "10.244.3.0", mac: "0a:58:0a:f4:03:00", underlayIP: "192.168.2.3" },
    ]);
    expect(plan.self).toEqual({ underlayIP: "192.168.1.1", podCIDR: "10.244.1.0/24" });
  });

  it("leaves off-link peers out while this node has no InternalIP or podCIDR of its own", () => {
    const plan = planRoutes(
      [
        node("n1", "10.244.1.0/24"),
        node("n2", "10.244.2.0/24", "192.168.1.2"),
        node("n3", "10.244.3.0/24", "192.168.2.3"),
      ],
      "n1",
      onLink,
    );
    expect(plan.routes).toEqual(new Map([["10.244.2.0/24", "via 192.168.1.2"]]));
    expect(plan.overlayPeers).toEqual([]);
    expect(plan.problems).toEqual([]);
  });

  it("names a peer claiming this node's own podCIDR", () => {
    const plan = planRoutes(
      [node("n1", "10.244.1.0/24", "192.168.1.1"), node("n2", "10.244.1.0/24", "192.168.2.2")],
      "n2",
      onLink,
    );
    expect(plan.problems).toEqual(["Node n2: spec.podCIDR: 10.244.1.0/24 is also the podCIDR of Node n1"]);
    expect(plan.self).toBeUndefined();
  });
});

describe("routeChanges", () => {
  it("replaces missing or moved routes and deletes owned routes no node needs", () => {
    const current = new Map([
      ["10.244.2.0/24", "via 192.168.1.2"],
      ["10.244.3.0/24", "via 192.168.1.9"],
      ["10.244.9.0/24", "via 192.168.1.9"],
    ]);
    const desired = new Map([
      ["10.244.2.0/24", "via 192.168.1.2"],
      ["10.244.3.0/24", "via 192.168.1.3"],
      ["10.244.4.0/24", "via 10.244.4.0 dev kctl-vxlan onlink"],
    ]);
    expect(routeChanges(current, desired, 199)).toEqual([
      "route replace 10.244.3.0/24 via 192.168.1.3 proto 199",
      "route replace 10.244.4.0/24 via 10.244.4.0 dev kctl-vxlan onlink proto 199",
      "route del 10.244.9.0/24 proto 199",
    ]);
    expect(routeChanges(desired, desired, 199)).toEqual([]);
  });
});
