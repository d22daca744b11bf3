/**
 * Root test of the pod MTU: read from the link holding the node's address in a throwaway "host"
 * namespace (this process's namespace is never touched).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Topology } from "../proxy/testing/topology-linux.js";
import { podMtu } from "./pod-mtu-linux.js";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("pod MTU (root)", () => {
  let topo: Topology;
  let host: string;

  beforeAll(() => {
    topo = new Topology("kctl-pod-mtu");
    host = topo.netns("host");
    const peer = topo.netns("peer");
    const [jumbo] = topo.link(host, "192.168.93.1/24", peer, "192.168.93.2/24");
    topo.ip(host, `link set ${jumbo} mtu 9000`);
    topo.link(host, "192.168.94.1/24", peer, "192.168.94.2/24");
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it("is the overlay's MTU over the link holding the node's address", async () => {
    expect(await podMtu("192.168.93.1", host)).toBe(8950);
    expect(await podMtu("192.168.94.1", host)).toBe(1450);
  });

  it("is the overlay's MTU over Ethernet when no link holds the address", async () => {
    expect(await podMtu("192.168.95.1", host)).toBe(1450);
  });
});
