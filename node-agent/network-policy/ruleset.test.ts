import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Namespace, NetworkPolicy, Pod } from "../../proto/gen/api.js";
import { computePolicyModel } from "./policy-model.js";
import { renderModel, renderScript } from "./ruleset.js";

function pod(name: string, ip: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "x", labels: { pod: name } },
    spec: {
      nodeName: "n1",
      containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] }],
    },
    status: { phase: "Running", podIP: ip },
  };
}

const namespaces: Namespace[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "x", labels: { ns: "x" } } },
];
const policies: NetworkPolicy[] = [
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", namespace: "x" },
    spec: {
      podSelector: { matchLabels: { pod: "a" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { pod: "b" } } },
            { ipBlock: { cidr: "192.168.0.7/16", except: ["192.168.1.0/24"] } },
          ],
          ports: [
            { port: "http", protocol: "TCP" },
            { port: 1000, endPort: 2000, protocol: "UDP" },
            { protocol: "SCTP" },
          ],
        },
      ],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: "http", protocol: "TCP" }] }],
    },
  },
];

const render = (pods: Pod[]) =>
  renderModel(computePolicyModel({ nodeName: "n1", policies, namespaces, pods }));
const before = render([pod("a", "10.244.1.2"), pod("b", "10.244.1.3")]);
const after = render([pod("a", "10.244.1.2"), pod("b", "10.244.1.4")]);

const full = `add table inet kctl-netpol
delete table inet kctl-netpol
add table inet kctl-netpol
add chain inet kctl-netpol forward { type filter hook forward priority filter; policy accept; }
add map inet kctl-netpol ingress-pods { type ipv4_addr : verdict; }
add map inet kctl-netpol egress-pods { type ipv4_addr : verdict; }
add rule inet kctl-netpol forward ct state established,related accept
add rule inet kctl-netpol forward ip saddr vmap @egress-pods
add rule inet kctl-netpol forward ip daddr vmap @ingress-pods
add set inet kctl-netpol pods-SET { type ipv4_addr; }
add set inet kctl-netpol ports-TUP { type ipv4_addr . inet_proto . inet_service; }
add chain inet kctl-netpol ingress-10.244.1.2
add chain inet kctl-netpol egress-10.244.1.2
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr @pods-SET meta l4proto tcp th dport 8080 return
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr @pods-SET meta l4proto udp th dport 1000-2000 return
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr @pods-SET meta l4proto sctp return
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } meta l4proto tcp th dport 8080 return
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } meta l4proto udp th dport 1000-2000 return
add rule inet kctl-netpol ingress-10.244.1.2 ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } meta l4proto sctp return
add rule inet kctl-netpol ingress-10.244.1.2 meta l4proto tcp reject with tcp reset
add rule inet kctl-netpol ingress-10.244.1.2 reject with icmpx admin-prohibited
add rule inet kctl-netpol egress-10.244.1.2 ip daddr . meta l4proto . th dport @ports-TUP return
add rule inet kctl-netpol egress-10.244.1.2 meta l4proto tcp reject with tcp reset
add rule inet kctl-netpol egress-10.244.1.2 reject with icmpx admin-prohibited
add element inet kctl-netpol pods-SET { 10.244.1.3 }
add element inet kctl-netpol ports-TUP { 10.244.1.2 . tcp . 8080, 10.244.1.3 . tcp . 8080 }
add element inet kctl-netpol ingress-pods { 10.244.1.2 : jump ingress-10.244.1.2 }
add element inet kctl-netpol egress-pods { 10.244.1.2 : jump egress-10.244.1.2 }
`;

/** Set names carry a hash of their selector; the golden text names them by role. */
const named = (script: string) =>
  script.replace(/pods-[0-9a-f]{12}/g, "pods-SET").replace(/ports-[0-9a-f]{12}/g, "ports-TUP");

describe("NetworkPolicy ruleset", () => {
  it("renders a full sync", () => {
    expect(named(renderScript(before, undefined))).toBe(full);
  });

  it("renders a peer's new IP as set element changes only", () => {
    expect(named(renderScript(after, before))).toBe(
      [
        "delete element inet kctl-netpol pods-SET { 10.244.1.3 }",
        "add element inet kctl-netpol pods-SET { 10.244.1.4 }",
        "delete element inet kctl-netpol ports-TUP { 10.244.1.3 . tcp . 8080 }",
        "add element inet kctl-netpol ports-TUP { 10.244.1.4 . tcp . 8080 }",
        "",
      ].join("\n"),
    );
    expect(renderScript(after, after)).toBe("");
  });

  it("removes a pod's chains after its map entries, and unused sets last", () => {
    const empty = render([]);
    const script = named(renderScript(empty, before)).split("\n");
    expect(script).toEqual([
      "delete element inet kctl-netpol ingress-pods { 10.244.1.2 }",
      "delete element inet kctl-netpol egress-pods { 10.244.1.2 }",
      "flush chain inet kctl-netpol ingress-10.244.1.2",
      "delete chain inet kctl-netpol ingress-10.244.1.2",
      "flush chain inet kctl-netpol egress-10.244.1.2",
      "delete chain inet kctl-netpol egress-10.244.1.2",
      "delete set inet kctl-netpol pods-SET",
      "delete set inet kctl-netpol ports-TUP",
      "",
    ]);
  });

  describe.skipIf(process.getuid?.() !== 0)("in a real kernel (a network namespace of its own)", () => {
    const ns = `kctl-netpol-rs-${process.pid}`;
    const nft = (script: string) =>
      execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: script });
    beforeAll(() => execFileSync("ip", ["netns", "add", ns]));
    afterAll(() => execFileSync("ip", ["netns", "del", ns]));

    it("takes the full script, then each partial one, as transactions", () => {
      nft(renderScript(before, undefined));
      nft(renderScript(after, before));
      nft(renderScript(render([]), after));
      nft(renderScript(before, render([])));
      // A full sync over a populated table converges too.
      nft(renderScript(before, undefined));
      const listed = execFileSync("ip", [
        "netns",
        "exec",
        ns,
        "nft",
        "list",
        "table",
        "inet",
        "kctl-netpol",
      ]).toString();
      expect(listed).toContain("ingress-10.244.1.2");
      expect(listed).toContain("10.244.1.3 . tcp . 8080");
    });
  });
});
