import { describe, expect, it } from "vitest";
import { type RulesetConfig, renderBase, renderPort } from "./ruleset.js";
import type { ServicePortModel } from "./service-ports.js";
import { fullTransaction, partialTransaction } from "./transaction.js";

const config: RulesetConfig = { table: "kctl", clusterCIDR: "10.244.0.0/16", nodePortAddresses: undefined };

function port(over: Partial<ServicePortModel> = {}): ServicePortModel {
  return {
    id: "default/web/tcp/http",
    service: "default/web",
    protocol: "tcp",
    clusterIP: "10.96.0.10",
    port: 80,
    nodePort: undefined,
    affinitySeconds: undefined,
    endpoints: [
      { ip: "10.244.1.2", port: 8080 },
      { ip: "10.244.1.3", port: 8080 },
    ],
    ...over,
  };
}

const render = (p: ServicePortModel) => renderPort(p, config);

describe("nft transactions", () => {
  it("a full sync recreates the table, declares before it references and adds every element", () => {
    const script = fullTransaction("kctl", renderBase(config), [render(port({ nodePort: 30080 }))]);
    const lines = script.trimEnd().split("\n");
    expect(lines.slice(0, 3)).toEqual(["add table ip kctl", "delete table ip kctl", "add table ip kctl"]);
    const firstRule = lines.findIndex((l) => l.startsWith("add rule ip kctl svc-"));
    const lastChain = lines.findLastIndex((l) => l.startsWith("add chain ip kctl ep-"));
    expect(lastChain).toBeLessThan(firstRule);
    expect(lines).toContain(
      "add rule ip kctl nat-postrouting ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade",
    );
    expect(lines.filter((l) => l.startsWith("add element"))).toEqual([
      expect.stringMatching(
        /^add element ip kctl service-ips \{ 10\.96\.0\.10 \. tcp \. 80 : goto svc-[0-9a-f]{8}-default\/web\/tcp\/http \}$/,
      ),
      expect.stringMatching(
        /^add element ip kctl service-nodeports \{ tcp \. 30080 : goto ext-[0-9a-f]{8}-default\/web\/tcp\/http \}$/,
      ),
    ]);
    expect(script).toMatch(
      /numgen random mod 2 vmap \{ 0 : goto ep-\S+__10\.244\.1\.2\/8080, 1 : goto ep-\S+__10\.244\.1\.3\/8080 \}/,
    );
  });

  it("is empty when nothing changed", () => {
    expect(partialTransaction("kctl", [render(port())], [render(port())])).toBe("");
  });

  it("removing an endpoint rewrites the service chain and deletes only that endpoint's chain", () => {
    const script = partialTransaction(
      "kctl",
      [render(port())],
      [render(port({ endpoints: [{ ip: "10.244.1.2", port: 8080 }] }))],
    );
    const lines = script.trimEnd().split("\n");
    expect(lines.map((l) => l.replace(/-[0-9a-f]{8}-/g, "-H-"))).toEqual([
      "flush chain ip kctl svc-H-default/web/tcp/http",
      "add rule ip kctl svc-H-default/web/tcp/http ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
      "add rule ip kctl svc-H-default/web/tcp/http numgen random mod 1 vmap { 0 : goto ep-H-default/web/tcp/http__10.244.1.2/8080 }",
      "flush chain ip kctl ep-H-default/web/tcp/http__10.244.1.3/8080",
      "delete chain ip kctl ep-H-default/web/tcp/http__10.244.1.3/8080",
    ]);
  });

  it("losing the last endpoint moves the port to the reject map before its chains go", () => {
    const script = partialTransaction("kctl", [render(port())], [render(port({ endpoints: [] }))]);
    const lines = script.trimEnd().split("\n");
    const del = lines.indexOf("delete element ip kctl service-ips { 10.96.0.10 . tcp . 80 }");
    const add = lines.indexOf(
      "add element ip kctl no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }",
    );
    const firstDeleteChain = lines.findIndex((l) => l.startsWith("delete chain"));
    expect(del).toBeGreaterThanOrEqual(0);
    expect(add).toBeGreaterThan(del);
    expect(firstDeleteChain).toBeGreaterThan(add);
    expect(lines.filter((l) => l.startsWith("delete chain"))).toHaveLength(3);
  });

  it("affinity adds one timed set per endpoint, consulted before the random choice", () => {
    const r = render(port({ affinitySeconds: 60 }));
    expect([...r.sets.values()]).toEqual([
      "{ type ipv4_addr; flags dynamic,timeout; timeout 60s; }",
      "{ type ipv4_addr; flags dynamic,timeout; timeout 60s; }",
    ]);
    const svcRules = [...r.chains.entries()].find(([n]) => n.startsWith("svc-"))![1];
    expect(svcRules[1]).toMatch(/^ip saddr @aff-\S+__10\.244\.1\.2\/8080 goto ep-\S+__10\.244\.1\.2\/8080$/);
    expect(svcRules.at(-1)).toMatch(/^numgen random/);
    // A new timeout is a new set: the old one is deleted last, after the chains stop using it.
    const script = partialTransaction("kctl", [r], [render(port({ affinitySeconds: 120 }))]);
    const lines = script.trimEnd().split("\n");
    expect(lines.slice(0, 2).every((l) => l.startsWith("add set ip kctl aff-"))).toBe(true);
    expect(lines.slice(-2).every((l) => l.startsWith("delete set ip kctl aff-"))).toBe(true);
  });

  it("touches only the ports it is given: other services' chains never appear", () => {
    const other = port({ id: "default/api/tcp/", service: "default/api", clusterIP: "10.96.0.11" });
    const script = partialTransaction("kctl", [render(port())], [render(port({ port: 81 }))]);
    expect(script).not.toContain("default/api");
    expect(fullTransaction("kctl", [], [render(other)])).toContain("default/api");
  });
});
