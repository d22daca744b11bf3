/**
 * Root test of host-gw routes: two "host" namespaces on a shared link, each with a pod behind its
 * bridge, each running HostRoutes (through nsenter; this process's namespace is never touched).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topology } from "../proxy/testing/topology-linux.js";
import { HostRoutes } from "./host-routes-linux.js";
import type { NodeInput } from "./route-plan.js";

const isRoot = process.getuid?.() === 0;

function node(name: string, podCIDR: string, ip: string): NodeInput {
  return {
    metadata: { name },
    spec: { podCIDR },
    status: { addresses: [{ type: "InternalIP", address: ip }] },
  };
}

const N1 = node("n1", "10.244.1.0/24", "192.168.88.1");
const N2 = node("n2", "10.244.2.0/24", "192.168.88.2");

describe.skipIf(!isRoot)("host-gw routes (root)", () => {
  let topo: Topology;
  let h1: string;
  let h2: string;
  let podA: string;
  let podB: string;
  const keepers: HostRoutes[] = [];

  beforeAll(async () => {
    topo = new Topology("kctl-routes");
    try {
      h1 = topo.netns("h1");
      h2 = topo.netns("h2");
      topo.link(h1, "192.168.88.1/24", h2, "192.168.88.2/24");
      topo.bridge(h1, "kctl0", "10.244.1.1/24");
      topo.bridge(h2, "kctl0", "10.244.2.1/24");
      podA = topo.pod(h1, "kctl0", "a", "10.244.1.2/24", "10.244.1.1");
      podB = topo.pod(h2, "kctl0", "b", "10.244.2.2/24", "10.244.2.1");
      await topo.httpd(podB, 8080, "b");
      await topo.httpd(podA, 8080, "a");
      for (const h of [h1, h2]) topo.run(h, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
      // Someone else's route, which must survive everything below.
      topo.ip(h1, "route add 10.250.0.0/16 via 192.168.88.2");
    } catch (err) {
      await topo.destroy();
      throw err;
    }
  });

  afterAll(async () => {
    try {
      for (const k of keepers) await k.stop();
    } finally {
      await topo?.destroy();
    }
  });

  const routes = (ns: string) => topo.run(ns, ["ip", "-4", "route", "show"]);

  it("routes each host to the other's pods, so pods talk across hosts", async () => {
    // No periodic reconcile: what repairs the routes below is the keeper's reaction, not the clock.
    const r1 = new HostRoutes({ nodeName: "n1", netns: h1, resyncIntervalMs: 0 });
    const r2 = new HostRoutes({ nodeName: "n2", netns: h2, resyncIntervalMs: 0 });
    keepers.push(r1, r2);
    for (const r of [r1, r2]) {
      r.setNode(N1);
      r.setNode(N2);
      await r.start();
    }
    expect(routes(h1)).toContain("10.244.2.0/24 via 192.168.88.2 dev tva0 proto 199");
    expect(routes(h2)).toContain("10.244.1.0/24 via 192.168.88.1 dev tvb0 proto 199");
    expect(routes(h1)).not.toContain("10.244.1.0/24 via");
    for (const h of [h1, h2]) expect(topo.run(h, ["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("1");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 3)).toEqual(["b", "b", "b"]);
    expect(topo.fetch(podB, "http://10.244.1.2:8080/", 3)).toEqual(["a", "a", "a"]);
  });

  it("puts its routes back when the host's link is set down and up again, which deletes them", async () => {
    topo.ip(h1, "link set tva0 down");
    expect(routes(h1)).not.toContain("10.244.2.0/24");
    topo.ip(h1, "link set tva0 up");
    const deadline = Date.now() + 5_000;
    while (!routes(h1).includes("10.244.2.0/24 via 192.168.88.2") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(routes(h1)).toContain("10.244.2.0/24 via 192.168.88.2 dev tva0 proto 199");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual(["b"]);
    // The other route went with the link too; its owner puts it back.
    topo.ip(h1, "route add 10.250.0.0/16 via 192.168.88.2");
  });

  it("a reconcile with nothing to change runs no command", async () => {
    expect(await keepers[0]!.reconcileNow()).toEqual([]);
  });

  it("replaces a moved node's route and deletes stale owned routes, leaving others' routes alone", async () => {
    const r1 = keepers[0]!;
    topo.ip(h1, "route add 10.244.9.0/24 via 192.168.88.2 proto 199");
    topo.ip(h1, "addr add 192.168.88.3/24 dev tva0");
    topo.ip(h2, "addr add 192.168.88.4/24 dev tvb0");
    r1.setNode(node("n2", "10.244.2.0/24", "192.168.88.4"));
    expect(await r1.reconcileNow()).toEqual([
      "route replace 10.244.2.0/24 via 192.168.88.4 proto 199",
      "route del 10.244.9.0/24 proto 199",
    ]);
    expect(routes(h1)).toContain("10.244.2.0/24 via 192.168.88.4");
    expect(routes(h1)).toContain("10.250.0.0/16 via 192.168.88.2");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual(["b"]);
  });

  it("removing a node removes its route", async () => {
    const r1 = keepers[0]!;
    r1.deleteNode(N2);
    await r1.reconcileNow();
    expect(routes(h1)).not.toContain("10.244.2.0/24");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual(["FAIL"]);
  });

  it("gives a peer off this host's links no host-gw route, nor an overlay one before this node has an address", async () => {
    // The new keeper is n1 on h1 too. Two keepers of one host fight: a late reconcile of the first,
    // which no longer has n2, deletes the route the second adds (CI saw the uninstall below find
    // its route gone under it). One keeper per host, as on a real one.
    await keepers[0]!.stop();
    const r = new HostRoutes({ nodeName: "n1", netns: h1, retryDelayMs: 60_000 });
    keepers.push(r);
    r.setNode(node("n7", "10.244.7.0/24", "172.31.0.7"));
    r.setNode(N2);
    await r.start();
    expect(routes(h1)).not.toContain("10.244.7.0/24");
    expect(routes(h1)).toContain("10.244.2.0/24 via 192.168.88.2");
  });

  it("uninstall deletes only the owned routes", async () => {
    const r = keepers.at(-1)!;
    await r.uninstall();
    expect(routes(h1)).not.toContain("proto 199");
    expect(routes(h1)).toContain("10.250.0.0/16 via 192.168.88.2");
  });

  it("refuses bad config naming the key", () => {
    expect(() => new HostRoutes({ nodeName: "" })).toThrow(/config nodeName: empty/);
    expect(() => new HostRoutes({ nodeName: "n", proto: 3 })).toThrow(/config proto: 3/);
    expect(() => new HostRoutes({ nodeName: "n", retryDelayMs: -5 })).toThrow(/config retryDelayMs: -5/);
  });
});
