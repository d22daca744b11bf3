/**
 * Root test of the VXLAN overlay: hosts h1 and h2 on two subnets joined only by a router (so
 * neither is on-link to the other), each with a pod behind its bridge and running HostRoutes
 * (through nsenter; this process's namespace is never touched). The router knows nothing of the
 * pod CIDRs, so pod traffic crosses only as VXLAN between the hosts' addresses.
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

const N1 = node("n1", "10.244.1.0/24", "192.168.91.1");
const N2 = node("n2", "10.244.2.0/24", "192.168.92.2");
// Larger than any one packet: the reply crosses at the device's reduced MTU.
const BIG = "x".repeat(200_000);

describe.skipIf(!isRoot)("VXLAN overlay between hosts on two subnets (root)", () => {
  let topo: Topology;
  let h1: string;
  let h2: string;
  let podA: string;
  let podB: string;
  let r1: HostRoutes;
  let r2: HostRoutes;

  beforeAll(async () => {
    topo = new Topology("kctl-vxlan");
    try {
      h1 = topo.netns("h1");
      h2 = topo.netns("h2");
      const router = topo.netns("router");
      topo.link(h1, "192.168.91.1/24", router, "192.168.91.254/24");
      topo.link(h2, "192.168.92.2/24", router, "192.168.92.254/24");
      topo.run(router, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      topo.ip(h1, "route add default via 192.168.91.254");
      topo.ip(h2, "route add default via 192.168.92.254");
      topo.bridge(h1, "kctl0", "10.244.1.1/24");
      topo.bridge(h2, "kctl0", "10.244.2.1/24");
      podA = topo.pod(h1, "kctl0", "a", "10.244.1.2/24", "10.244.1.1");
      podB = topo.pod(h2, "kctl0", "b", "10.244.2.2/24", "10.244.2.1");
      await topo.httpd(podA, 8080, "a");
      await topo.httpd(podB, 8080, BIG);
    } catch (err) {
      await topo.destroy();
      throw err;
    }
  });

  afterAll(async () => {
    try {
      await r1?.stop();
      await r2?.stop();
    } finally {
      await topo?.destroy();
    }
  });

  const show = (ns: string, ...argv: string[]) => topo.run(ns, argv);

  it("routes off-link peers through the VXLAN device, so pods talk across the router", async () => {
    r1 = new HostRoutes({ nodeName: "n1", netns: h1 });
    r2 = new HostRoutes({ nodeName: "n2", netns: h2 });
    for (const r of [r1, r2]) {
      r.setNode(N1);
      r.setNode(N2);
      await r.start();
    }
    expect(show(h1, "ip", "-4", "route", "show")).toContain(
      "10.244.2.0/24 via 10.244.2.0 dev kctl-vxlan proto 199 onlink",
    );
    const link = show(h1, "ip", "-d", "link", "show", "kctl-vxlan");
    expect(link).toContain("mtu 1450");
    expect(link).toContain("link/ether 0a:58:0a:f4:01:00");
    expect(link).toMatch(/vxlan id 1 local 192\.168\.91\.1 .*dstport 4789 .*nolearning/s);
    expect(show(h1, "ip", "neigh", "show", "dev", "kctl-vxlan")).toContain(
      "10.244.2.0 lladdr 0a:58:0a:f4:02:00 PERMANENT",
    );
    expect(show(h1, "bridge", "fdb", "show", "dev", "kctl-vxlan")).toContain(
      "0a:58:0a:f4:02:00 dst 192.168.92.2 self permanent",
    );
    expect(topo.fetch(podB, "http://10.244.1.2:8080/", 3)).toEqual(["a", "a", "a"]);
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual([BIG]);
  });

  it("a reconcile with nothing to change runs no command", async () => {
    expect(await r1.reconcileNow()).toEqual([]);
  });

  it("follows a peer that moves to another address, and drops one that leaves", async () => {
    topo.ip(h2, "addr add 192.168.92.3/24 dev tva1");
    // The route keeper also reconciles when its link watch sees the host's links or routes change
    // (its own changes included), so a reconcile may have run before the one asked for here: what
    // counts is what the kernel holds after it.
    const fdb = () => show(h1, "bridge", "fdb", "show", "dev", "kctl-vxlan");
    r1.setNode(node("n2", "10.244.2.0/24", "192.168.92.3"));
    await r1.reconcileNow();
    expect(fdb()).toContain("0a:58:0a:f4:02:00 dst 192.168.92.3 self permanent");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual([BIG]);
    r1.deleteNode(N2);
    await r1.reconcileNow();
    expect(fdb()).not.toContain("0a:58:0a:f4:02:00");
    expect(show(h1, "ip", "neigh", "show", "dev", "kctl-vxlan")).not.toContain("10.244.2.0");
    expect(show(h1, "ip", "-4", "route", "show")).not.toContain("10.244.2.0/24");
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual(["FAIL"]);
    r1.setNode(N2);
    await r1.reconcileNow();
    expect(topo.fetch(podA, "http://10.244.2.2:8080/", 1)).toEqual([BIG]);
  });

  it("repairs a device someone changed", async () => {
    // Settle the run the last setNode scheduled, so the change below lands between two reconciles.
    await new Promise((r) => setTimeout(r, 50));
    await r1.reconcileNow();
    topo.ip(h1, "link set kctl-vxlan mtu 1300", "neigh del 10.244.2.0 dev kctl-vxlan");
    await r1.reconcileNow();
    expect(show(h1, "ip", "link", "show", "kctl-vxlan")).toContain("mtu 1450");
    expect(show(h1, "ip", "neigh", "show", "dev", "kctl-vxlan")).toContain(
      "10.244.2.0 lladdr 0a:58:0a:f4:02:00 PERMANENT",
    );
  });

  it("uninstall deletes the routes and the device", async () => {
    await r2.uninstall();
    expect(show(h2, "ip", "-4", "route", "show")).not.toContain("proto 199");
    expect(show(h2, "ip", "link", "show")).not.toContain("kctl-vxlan");
  });
});
