/**
 * Root test of the announcer on a throwaway pair of namespaces: a "host" running the announcer
 * (through nsenter) and a "gateway" on its link standing for the segment's router. Traffic goes only
 * between these namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EndpointsInput, ServiceInput } from "../proxy/inputs.js";
import { Topology } from "../proxy/testing/topology-linux.js";
import { LoadBalancerAnnouncer } from "./announcer-linux.js";
import type { NodeInput } from "./election.js";

const isRoot = process.getuid?.() === 0;
const HOST_IP = "192.168.78.11";
const LB_IP = "192.168.78.200";

const node = (name: string, ready: boolean): NodeInput => ({
  metadata: { name },
  status: { conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }] },
});

const service: ServiceInput = {
  metadata: { namespace: "default", name: "web" },
  spec: { type: "LoadBalancer", clusterIP: "10.96.0.9", ports: [{ port: 80, nodePort: 30080 }] },
  status: { loadBalancer: { ingress: [{ ip: LB_IP }] } },
};

const endpoints: EndpointsInput = {
  metadata: { namespace: "default", name: "web" },
  subsets: [{ addresses: [{ ip: "10.244.1.2", nodeName: "node1" }], ports: [{ port: 8080 }] }],
};

/** Polls `done` every 50 ms for up to 10 s (reconciles run in the background). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe.skipIf(!isRoot)("load balancer announcer (root)", () => {
  let topo: Topology;
  let host: string;
  let gateway: string;
  let hostDev: string;
  let announcer: LoadBalancerAnnouncer;

  beforeAll(() => {
    topo = new Topology("kctl-lb");
    try {
      host = topo.netns("host");
      gateway = topo.netns("gateway");
      [hostDev] = topo.link(host, `${HOST_IP}/24`, gateway, "192.168.78.1/24");
    } catch (err) {
      void topo.destroy();
      throw err;
    }
  });

  afterAll(async () => {
    try {
      await announcer?.stop();
    } finally {
      await topo?.destroy();
    }
  });

  const hostAddrs = () => topo.run(host, ["ip", "-4", "-o", "addr", "show", "dev", hostDev]);
  const ping = () =>
    topo.run(gateway, ["sh", "-c", `busybox ping -c 1 -W 2 ${LB_IP} >/dev/null 2>&1; echo $?`]).trim();

  it("puts an elected address on the node's interface, where the segment finds it by ARP", async () => {
    announcer = new LoadBalancerAnnouncer({
      nodeName: "node1",
      hostIP: HOST_IP,
      netns: host,
      resyncIntervalMs: 0,
    });
    announcer.setService(service);
    announcer.setEndpoints(endpoints);
    announcer.setNode(node("node1", true));
    await announcer.start();
    expect([...announcer.addresses()]).toEqual([LB_IP]);
    expect(hostAddrs()).toContain(`${LB_IP}/32`);
    expect(hostAddrs()).toContain(`${hostDev}:lb`);
    expect(ping()).toBe("0");
    const [link] = JSON.parse(topo.run(host, ["ip", "-j", "link", "show", "dev", hostDev])) as {
      address: string;
    }[];
    const hostMac = link!.address;
    expect(topo.run(gateway, ["ip", "neigh", "show", LB_IP])).toContain(hostMac);
  });

  it("withdraws the address when another node wins it, and on stop", async () => {
    // node1 NotReady, node2 Ready: the address moves off this host.
    announcer.setNode(node("node1", false));
    announcer.setNode(node("node2", true));
    await until(() => !hostAddrs().includes(LB_IP));
    expect(hostAddrs()).not.toContain(LB_IP);
    announcer.setNode(node("node1", true));
    announcer.deleteNode(node("node2", true));
    await until(() => hostAddrs().includes(LB_IP));
    expect(hostAddrs()).toContain(LB_IP);
    await announcer.stop();
    expect(hostAddrs()).not.toContain(LB_IP);
  });
});
