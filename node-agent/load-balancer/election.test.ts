import { describe, expect, it } from "vitest";
import type { EndpointsInput, ServiceInput } from "../proxy/inputs.js";
import {
  addressesToAnnounce,
  electAnnouncer,
  excludeLabel,
  type NodeInput,
  subnetLabel,
  subnetLabelValue,
} from "./election.js";

const node = (name: string, ready = true, labels: Record<string, string> = {}): NodeInput => ({
  metadata: { name, labels },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }] },
});

const lb = (
  name: string,
  ip: string,
  extra: Partial<NonNullable<ServiceInput["spec"]>> = {},
): ServiceInput => ({
  metadata: { namespace: "default", name },
  spec: { type: "LoadBalancer", clusterIP: "10.96.0.9", ports: [{ port: 80, nodePort: 30080 }], ...extra },
  status: { loadBalancer: { ingress: [{ ip }] } },
});

const eps = (name: string, nodes: string[]): [string, EndpointsInput] => [
  `default/${name}`,
  {
    metadata: { namespace: "default", name },
    subsets: [
      { addresses: nodes.map((n, i) => ({ ip: `10.244.${i}.2`, nodeName: n })), ports: [{ port: 8080 }] },
    ],
  },
];

/** Which node announces each address, asking every node as its agent would. */
function owners(services: ServiceInput[], endpoints: Map<string, EndpointsInput>, nodes: NodeInput[]) {
  const out: Record<string, string[]> = {};
  for (const n of nodes) {
    for (const ip of addressesToAnnounce(n.metadata.name!, services, endpoints, nodes).keys()) {
      out[ip] = [...(out[ip] ?? []), n.metadata.name!];
    }
  }
  return out;
}

describe("LoadBalancer announcer election", () => {
  const nodes = [node("node1"), node("node2"), node("node3")];

  it("gives every address exactly one announcer, the same whichever agent asks, spread over the nodes", () => {
    const services = Array.from({ length: 30 }, (_, i) => lb(`s${i}`, `192.0.2.${i + 1}`));
    const endpoints = new Map(services.map((s) => eps(s.metadata.name!, ["node1"])));
    const result = owners(services, endpoints, nodes);
    expect(Object.keys(result)).toHaveLength(30);
    for (const announcers of Object.values(result)) expect(announcers).toHaveLength(1);
    expect(new Set(Object.values(result).flat()).size).toBe(3);
  });

  it("moves an address off a node that goes NotReady, and only that one's", () => {
    const services = Array.from({ length: 12 }, (_, i) => lb(`s${i}`, `192.0.2.${i + 1}`));
    const endpoints = new Map(services.map((s) => eps(s.metadata.name!, ["node1"])));
    const before = owners(services, endpoints, nodes);
    const down = [node("node1"), node("node2", false), node("node3")];
    const after = owners(services, endpoints, down);
    for (const [ip, [was]] of Object.entries(before) as [string, string[]][]) {
      if (was === "node2") expect(after[ip]).not.toEqual(["node2"]);
      else expect(after[ip]).toEqual([was]);
    }
    expect(Object.values(after).flat()).not.toContain("node2");
  });

  it("with externalTrafficPolicy Local picks only nodes with a ready endpoint", () => {
    const services = Array.from({ length: 10 }, (_, i) =>
      lb(`s${i}`, `192.0.2.${i + 1}`, { externalTrafficPolicy: "Local" }),
    );
    const endpoints = new Map(services.map((s) => eps(s.metadata.name!, ["node3"])));
    expect(new Set(Object.values(owners(services, endpoints, nodes)).flat())).toEqual(new Set(["node3"]));
  });

  it("announces nothing for a Service without ready endpoints, of another class, or on excluded nodes", () => {
    const endpoints = new Map([eps("other", ["node1"]), eps("x", ["node1"])]);
    const services = [
      lb("empty", "192.0.2.1"),
      lb("other", "192.0.2.2", { loadBalancerClass: "example.com/lb" }),
    ];
    expect(owners(services, endpoints, nodes)).toEqual({});
    const excluded = nodes.map((n) => node(n.metadata.name!, true, { [excludeLabel]: "" }));
    expect(owners([lb("x", "192.0.2.3")], endpoints, excluded)).toEqual({});
  });

  it("on hosts of several subnets, gives each address to a node on the subnet holding it", () => {
    const on = (name: string, cidr: string) => node(name, true, { [subnetLabel]: subnetLabelValue(cidr) });
    const racks = [
      on("node1", "10.1.0.0/24"),
      on("node2", "10.1.1.0/24"),
      on("node3", "10.1.0.0/24"),
      on("node4", "10.1.1.0/24"),
    ];
    const services = Array.from({ length: 20 }, (_, i) => lb(`s${i}`, `10.1.${i % 2}.${200 + i}`));
    const endpoints = new Map([...services, lb("s", "")].map((s) => eps(s.metadata.name!, ["node2"])));
    const byOwner = owners(services, endpoints, racks);
    expect(Object.keys(byOwner)).toHaveLength(20);
    for (const [ip, holders] of Object.entries(byOwner)) {
      expect(holders, ip).toHaveLength(1);
      expect(ip.startsWith("10.1.0.") ? ["node1", "node3"] : ["node2", "node4"], ip).toContain(holders[0]);
    }
    // Its subnet's nodes gone, an address falls back to any eligible node rather than to none.
    const rest = [racks[1]!, racks[3]!, node("node1", false, racks[0]!.metadata.labels!)];
    expect(Object.keys(owners([lb("s", "10.1.0.250")], endpoints, rest))).toEqual(["10.1.0.250"]);
    // An address on no node's subnet (or nodes without the label) goes to any eligible node.
    expect(Object.keys(owners([lb("s", "192.0.2.7")], endpoints, racks))).toEqual(["192.0.2.7"]);
  });

  it("elects nobody from no candidates", () => {
    expect(electAnnouncer("192.0.2.1", [])).toBeUndefined();
  });
});
