/**
 * Root test of the service proxy on a throwaway topology: a "host" namespace running the proxy
 * (through nsenter, so this process's own namespace is never touched) with three pods on its
 * bridge serving their names, and a "client" namespace standing for another machine on the node's
 * link. Traffic goes only between these namespaces.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProxyError } from "./errors.js";
import type { EndpointsInput, ServiceInput } from "./inputs.js";
import { Nft } from "./nft-linux.js";
import { ServiceProxy } from "./service-proxy.js";
import { Topology, tally } from "./testing/topology-linux.js";

const isRoot = process.getuid?.() === 0;
const NODE_IP = "192.168.77.1";
const POD = { p1: "10.244.1.2", p2: "10.244.1.3", p3: "10.244.1.4" };

function service(
  name: string,
  clusterIP: string,
  extra: Partial<NonNullable<ServiceInput["spec"]>> = {},
): ServiceInput {
  return {
    metadata: { namespace: "default", name },
    spec: { clusterIP, ports: [{ name: "http", port: 80, targetPort: 8080 }], ...extra },
  };
}

function endpoints(
  name: string,
  ready: string[],
  notReady: string[] = [],
  port = 8080,
  protocol = "TCP",
): EndpointsInput {
  return {
    metadata: { namespace: "default", name },
    subsets: [
      {
        addresses: ready.map((ip) => ({ ip })),
        notReadyAddresses: notReady.map((ip) => ({ ip })),
        ports: [{ name: "http", port, protocol }],
      },
    ],
  };
}

const LB_CLUSTER = "192.168.77.100";
const LB_LOCAL = "192.168.77.101";

/** A LoadBalancer with its address in status, NodePort 30083 for the Local one. */
function lbStatus(name: string, ip: string, policy: "Cluster" | "Local" = "Cluster"): ServiceInput {
  const clusterIP = name === "lb" ? "10.96.0.14" : "10.96.0.15";
  const nodePort = name === "lb" ? 30082 : 30083;
  return {
    metadata: { namespace: "default", name },
    spec: {
      clusterIP,
      type: "LoadBalancer",
      externalTrafficPolicy: policy,
      ports: [{ name: "http", port: 80, nodePort }],
    },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}

/** Endpoints whose ready addresses run on the given nodes. */
function onNodes(name: string, port: number, nodes: Record<string, string>): EndpointsInput {
  return {
    metadata: { namespace: "default", name },
    subsets: [
      {
        addresses: Object.entries(nodes).map(([ip, nodeName]) => ({ ip, nodeName })),
        ports: [{ name: "http", port, protocol: "TCP" }],
      },
    ],
  };
}

describe.skipIf(!isRoot)("service proxy on nftables (root)", () => {
  let topo: Topology;
  let host: string;
  let client: string;
  let pods: Record<keyof typeof POD, string>;
  let proxy: ServiceProxy;
  const registry = new Registry();
  const errors: Error[] = [];

  beforeAll(async () => {
    topo = new Topology("kctl-proxy");
    try {
      host = topo.netns("host");
      client = topo.netns("client");
      topo.link(host, `${NODE_IP}/24`, client, "192.168.77.2/24");
      topo.ip(client, `route add default via ${NODE_IP}`);
      // The client stands for the rest of the world: ClusterIPs without endpoints must be routable
      // for the host to refuse them rather than report "no route".
      topo.ip(host, "route add default via 192.168.77.2");
      topo.bridge(host, "kctl0", "10.244.1.1/24");
      pods = {
        p1: topo.pod(host, "kctl0", "p1", `${POD.p1}/24`, "10.244.1.1"),
        p2: topo.pod(host, "kctl0", "p2", `${POD.p2}/24`, "10.244.1.1"),
        p3: topo.pod(host, "kctl0", "p3", `${POD.p3}/24`, "10.244.1.1"),
      };
      for (const [name, ns] of Object.entries(pods)) await topo.httpd(ns, 8080, name);
      // p2 also tells each client the address it sees (a CGI script's REMOTE_ADDR).
      const cgi = join(topo.dir, "echo-ip");
      mkdirSync(join(cgi, "cgi-bin"), { recursive: true });
      writeFileSync(
        join(cgi, "cgi-bin", "ip"),
        '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n',
        {
          mode: 0o755,
        },
      );
      await topo.spawnServer(pods.p2, ["busybox", "httpd", "-f", "-p", "8081", "-h", cgi], 8081);
      // LoadBalancer addresses reach this node by routes here; announcing them is another module's.
      for (const ip of [LB_CLUSTER, LB_LOCAL]) topo.ip(client, `route add ${ip}/32 via ${NODE_IP}`);
      proxy = new ServiceProxy({
        netns: host,
        clusterCIDR: "10.244.0.0/16",
        registry,
        nodeName: "node-a",
        retryDelayMs: 60_000,
        onError: (err) => errors.push(err),
      });
      proxy.setService(
        service("web", "10.96.0.10", {
          type: "NodePort",
          ports: [{ name: "http", port: 80, nodePort: 30080 }],
        }),
      );
      proxy.setEndpoints(endpoints("web", [POD.p1, POD.p2, POD.p3]));
      proxy.setService(
        service("empty", "10.96.0.11", {
          type: "NodePort",
          ports: [{ name: "http", port: 80, nodePort: 30081 }],
        }),
      );
      proxy.setEndpoints(endpoints("empty", [], [POD.p1]));
      proxy.setService(service("self", "10.96.0.12"));
      proxy.setEndpoints(endpoints("self", [POD.p1]));
      proxy.setService(service("sticky", "10.96.0.13", { sessionAffinity: "ClientIP" }));
      proxy.setEndpoints(endpoints("sticky", [POD.p1, POD.p2, POD.p3]));
      proxy.setService(lbStatus("lb", LB_CLUSTER));
      proxy.setEndpoints(endpoints("lb", [POD.p1, POD.p2, POD.p3]));
      proxy.setService(lbStatus("local", LB_LOCAL, "Local"));
      proxy.setEndpoints(onNodes("local", 8081, { [POD.p2]: "node-a", [POD.p3]: "node-b" }));
      proxy.setService(service("nearby", "10.96.0.16", { internalTrafficPolicy: "Local" }));
      proxy.setEndpoints(onNodes("nearby", 8080, { [POD.p1]: "node-a", [POD.p3]: "node-b" }));
      proxy.setService(service("headless", "None"));
      proxy.setEndpoints(endpoints("headless", [POD.p1]));
      await proxy.start();
    } catch (err) {
      await topo.destroy();
      throw err;
    }
  });

  afterAll(async () => {
    try {
      await proxy?.uninstall();
    } finally {
      await topo?.destroy();
    }
  });

  it("the first sync is one full transaction and the table holds every non-headless service", async () => {
    expect(proxy.lastSync()!.kind).toBe("full");
    const table = (await new Nft(host).listTable("kctl"))!;
    for (const name of ["web", "self", "sticky"]) expect(table).toContain(`-default/${name}/tcp/http`);
    expect(table).toMatch(/10\.96\.0\.11 \. tcp \. 80 : goto reject-chain/);
    expect(table).not.toContain("headless");
  });

  it("a ClusterIP spreads 300 requests fairly over every ready endpoint, from another machine", () => {
    const counts = tally(topo.fetch(client, "http://10.96.0.10/", 300));
    expect(Object.keys(counts).sort()).toEqual(["p1", "p2", "p3"]);
    // Binomial(300, 1/3): sd ≈ 8.2, so 60..140 is a ±4.9 sd band.
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(60);
    for (const n of Object.values(counts)) expect(n).toBeLessThan(140);
  });

  it("a ClusterIP answers from the host itself, from a pod, and from a pod that is its only endpoint", () => {
    expect(topo.fetch(host, "http://10.96.0.12/", 3)).toEqual(["p1", "p1", "p1"]);
    expect(new Set(topo.fetch(pods.p3, "http://10.96.0.10/", 30))).not.toContain("FAIL");
    expect(topo.fetch(pods.p1, "http://10.96.0.12/", 3)).toEqual(["p1", "p1", "p1"]);
  });

  it("a NodePort answers on the node's addresses", () => {
    expect(new Set(topo.fetch(client, `http://${NODE_IP}:30080/`, 30))).toEqual(new Set(["p1", "p2", "p3"]));
    expect(new Set(topo.fetch(pods.p2, "http://10.244.1.1:30080/", 10))).not.toContain("FAIL");
  });

  it("a LoadBalancer address answers from outside like its NodePort", () => {
    expect(new Set(topo.fetch(client, `http://${LB_CLUSTER}/`, 30))).toEqual(new Set(["p1", "p2", "p3"]));
    expect(new Set(topo.fetch(client, `http://${NODE_IP}:30082/`, 10))).not.toContain("FAIL");
  });

  it("externalTrafficPolicy Local sends outside clients only to this node's endpoints and keeps their address", () => {
    // busybox httpd reports IPv4 clients as mapped IPv6 addresses.
    const seen = (url: string, n: number) =>
      new Set(topo.fetch(client, url, n).map((a) => a.replace(/^\[::ffff:(.*)\]$/, "$1")));
    // p3 runs on node-b and has nothing on 8081: one request reaching it would FAIL.
    expect(seen(`http://${LB_LOCAL}/cgi-bin/ip`, 20)).toEqual(new Set(["192.168.77.2"]));
    expect(seen(`http://${NODE_IP}:30083/cgi-bin/ip`, 5)).toEqual(new Set(["192.168.77.2"]));
  });

  it("internalTrafficPolicy Local keeps ClusterIP traffic on this node's endpoints", () => {
    expect(new Set(topo.fetch(host, "http://10.96.0.16/", 20))).toEqual(new Set(["p1"]));
  });

  it("a service without ready endpoints refuses connections instead of letting them time out", () => {
    for (const url of ["http://10.96.0.11/", `http://${NODE_IP}:30081/`]) {
      const out = topo.run(client, ["sh", "-c", `timeout 3 busybox wget -q -O - ${url} 2>&1; echo rc=$?`]);
      expect(out).toContain("Connection refused");
    }
    const fromHost = topo.run(host, [
      "sh",
      "-c",
      "timeout 3 busybox wget -q -O - http://10.96.0.11/ 2>&1; echo rc=$?",
    ]);
    expect(fromHost).toContain("Connection refused");
  });

  it("ClientIP affinity pins each client to one endpoint", () => {
    const fromClient = new Set(topo.fetch(client, "http://10.96.0.13/", 30));
    expect(fromClient.size).toBe(1);
    expect(["p1", "p2", "p3"]).toContain([...fromClient][0]);
    expect(new Set(topo.fetch(pods.p3, "http://10.96.0.13/", 30)).size).toBe(1);
  });

  it("an endpoint change is a partial transaction touching only that service, and traffic follows it", async () => {
    proxy.setEndpoints(endpoints("web", [POD.p1, POD.p3], [POD.p2]));
    const report = await proxy.syncNow();
    expect(report.kind).toBe("partial");
    const touched = new Set(
      report.script.match(/(svc|ext|ep|aff)-[0-9a-f]{8}-[^ ]*/g)!.map((n) => n.split("/")[1]),
    );
    expect(touched).toEqual(new Set(["web"]));
    expect(report.script).toMatch(
      /delete chain ip kctl ep-[0-9a-f]{8}-default\/web\/tcp\/http__10\.244\.1\.3\/8080/,
    );
    expect(report.script).not.toContain("add table");
    const counts = tally(topo.fetch(client, "http://10.96.0.10/", 100));
    expect(Object.keys(counts).sort()).toEqual(["p1", "p3"]);
  });

  it("an unchanged object applies nothing", async () => {
    proxy.setEndpoints(endpoints("web", [POD.p3, POD.p1], [POD.p2]));
    expect((await proxy.syncNow()).script).toBe("");
  });

  it("losing every endpoint refuses, and getting one back answers", async () => {
    proxy.setEndpoints(endpoints("self", []));
    await proxy.syncNow();
    expect(topo.fetch(client, "http://10.96.0.12/", 1)).toEqual(["FAIL"]);
    proxy.setEndpoints(endpoints("self", [POD.p2]));
    await proxy.syncNow();
    expect(topo.fetch(client, "http://10.96.0.12/", 2)).toEqual(["p2", "p2"]);
  });

  it("a NodePort claimed by two Services stays with the first, and the second is reported, not half-applied", async () => {
    const problems: string[] = [];
    const p = new ServiceProxy({
      netns: host,
      table: "kctl_clash",
      fullResyncIntervalMs: 0,
      onProblem: (_k, ps) => problems.push(...ps),
    });
    try {
      p.setService(
        service("a", "10.96.1.1", { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30500 }] }),
      );
      p.setEndpoints(endpoints("a", [POD.p1]));
      await p.start();
      p.setService(
        service("b", "10.96.1.2", { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30500 }] }),
      );
      p.setEndpoints(endpoints("b", [POD.p2]));
      const report = await p.syncNow();
      expect(report.script).toContain("add element ip kctl_clash service-ips { 10.96.1.2 . tcp . 80");
      expect(report.script).not.toContain("30500");
      expect(problems).toEqual([
        "Service default/b: tcp . 30500 (service-nodeports) is already served by Service default/a",
      ]);
    } finally {
      await p.uninstall();
    }
  });

  it("conntrack entries of UDP flows to a removed endpoint are deleted, the others kept", async () => {
    const udp = service("dns", "10.96.0.53", { ports: [{ name: "http", port: 53, protocol: "UDP" }] });
    proxy.setService(udp);
    proxy.setEndpoints(endpoints("dns", [POD.p1, POD.p2], [], 5353, "UDP"));
    await proxy.syncNow();
    // Distinct source ports make distinct flows; 40 of them reach both endpoints for sure (2^-39).
    topo.run(client, ["bash", "-c", "for i in $(seq 40); do echo q > /dev/udp/10.96.0.53/53; done"]);
    const flows = () => topo.run(host, ["conntrack", "-L", "-p", "udp", "--orig-dst", "10.96.0.53"]);
    expect(flows()).toContain(`src=${POD.p2} `);
    expect(flows()).toContain(`src=${POD.p1} `);
    proxy.setEndpoints(endpoints("dns", [POD.p1], [], 5353, "UDP"));
    await proxy.syncNow();
    expect(flows()).not.toContain(`src=${POD.p2} `);
    expect(flows()).toContain(`src=${POD.p1} `);
    proxy.deleteService(udp);
    proxy.deleteEndpoints(endpoints("dns", []));
    await proxy.syncNow();
    expect(flows()).not.toContain(`src=${POD.p1} `);
  });

  it("a failed partial sync is followed by a full resync that repairs the table", async () => {
    const fullSyncs = async () =>
      Number(
        /_count\{kind="full"\} (\d+)/.exec(
          await registry.getSingleMetricAsString("kctl_proxy_sync_duration_seconds"),
        )![1],
      );
    const fullBefore = await fullSyncs();
    await new Nft(host).apply("delete table ip kctl\n");
    proxy.setEndpoints(endpoints("web", [POD.p1, POD.p2, POD.p3]));
    await expect(proxy.syncNow()).rejects.toThrow(/nft -f - .* in network namespace/);
    expect(errors).toHaveLength(1);
    // The change also scheduled a background sync, which may already have done the full resync.
    await proxy.syncNow();
    expect(await fullSyncs()).toBe(fullBefore + 1);
    expect(Object.keys(tally(topo.fetch(client, "http://10.96.0.10/", 60))).sort()).toEqual([
      "p1",
      "p2",
      "p3",
    ]);
    const metrics = await registry.getSingleMetricAsString("kctl_proxy_sync_errors_total");
    expect(metrics).toContain('kctl_proxy_sync_errors_total{kind="partial"} 1');
  });

  it("a restarted proxy converges from whatever table it finds in one full transaction", async () => {
    const nft = new Nft(host);
    const before = await nft.listTable("kctl");
    // A crash can leave anything behind: stale chains, foreign elements.
    await nft.apply(
      "add chain ip kctl svc-deadbeef-default/gone/tcp/\nadd element ip kctl service-ips { 10.96.9.9 . tcp . 80 : goto svc-deadbeef-default/gone/tcp/ }\n",
    );
    const restarted = new ServiceProxy({ netns: host, clusterCIDR: "10.244.0.0/16", nodeName: "node-a" });
    restarted.setService(lbStatus("lb", LB_CLUSTER));
    restarted.setEndpoints(endpoints("lb", [POD.p1, POD.p2, POD.p3]));
    restarted.setService(lbStatus("local", LB_LOCAL, "Local"));
    restarted.setEndpoints(onNodes("local", 8081, { [POD.p2]: "node-a", [POD.p3]: "node-b" }));
    restarted.setService(service("nearby", "10.96.0.16", { internalTrafficPolicy: "Local" }));
    restarted.setEndpoints(onNodes("nearby", 8080, { [POD.p1]: "node-a", [POD.p3]: "node-b" }));
    restarted.setService(
      service("web", "10.96.0.10", {
        type: "NodePort",
        ports: [{ name: "http", port: 80, nodePort: 30080 }],
      }),
    );
    restarted.setEndpoints(endpoints("web", [POD.p1, POD.p2, POD.p3]));
    restarted.setService(
      service("empty", "10.96.0.11", {
        type: "NodePort",
        ports: [{ name: "http", port: 80, nodePort: 30081 }],
      }),
    );
    restarted.setEndpoints(endpoints("empty", [], [POD.p1]));
    restarted.setService(service("self", "10.96.0.12"));
    restarted.setEndpoints(endpoints("self", [POD.p2]));
    restarted.setService(service("sticky", "10.96.0.13", { sessionAffinity: "ClientIP" }));
    restarted.setEndpoints(endpoints("sticky", [POD.p1, POD.p2, POD.p3]));
    await restarted.start();
    await restarted.stop();
    const strip = (t: string | undefined) => t?.replace(/\n\s*elements = \{[^}]*\}(?=\n\s*\})/g, "");
    const after = await nft.listTable("kctl");
    expect(after).not.toContain("gone");
    // Affinity sets hold live client addresses; everything else is identical.
    expect(strip(after)).toBe(strip(before));
  });

  it("exports sync duration and rule count", async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/kctl_proxy_sync_duration_seconds_count\{kind="full"\} [1-9]/);
    expect(text).toMatch(/kctl_proxy_sync_duration_seconds_count\{kind="partial"\} [1-9]/);
    expect(text).toMatch(/kctl_proxy_rules [1-9]\d*/);
  });

  it("uninstall removes the table and is idempotent", async () => {
    const temp = new ServiceProxy({ netns: host, table: "kctl_tmp" });
    temp.setService(service("web", "10.96.0.10"));
    temp.setEndpoints(endpoints("web", [POD.p1]));
    await temp.start();
    expect(await new Nft(host).listTable("kctl_tmp")).toBeDefined();
    await temp.uninstall();
    await temp.uninstall();
    expect(await new Nft(host).listTable("kctl_tmp")).toBeUndefined();
  });

  it("refuses bad config naming the key", () => {
    expect(() => new ServiceProxy({ clusterCIDR: "10.244.0.0/33" })).toThrow(
      /config clusterCIDR: invalid "10.244.0.0\/33"/,
    );
    expect(() => new ServiceProxy({ table: "bad table" })).toThrow(ProxyError);
    expect(() => new ServiceProxy({ nodePortAddresses: ["10.0.0.1"] })).toThrow(/nodePortAddresses\[0\]/);
    expect(() => new ServiceProxy({ minSyncIntervalMs: -1 })).toThrow(/minSyncIntervalMs: -1/);
  });
});
