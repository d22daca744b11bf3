/**
 * NetworkPolicy on a three-host lab whose hosts sit on two routed subnets (node1 and node3 on one,
 * node2 on the other), so every truth table also crosses the VXLAN overlay (node2 to the others)
 * and host-gw routes (node1 to node3). Checked as upstream's network policy e2e (and Cyclonus) do:
 * namespaces x, y, z each hold pods a, b, c (a, b, c on three different hosts) serving HTTP on
 * ports 80 and 81; for each case every pod probes every pod on both ports at once (busybox wget
 * run in the pod's network namespace, which is what a container in it sends), and the WHOLE
 * truth table is compared with the expected one (both printed on a mismatch). A pod reaching its
 * own IP never leaves its namespace, so those cells are always allowed (upstream's AllowLoopback).
 * Pods get the overlay's MTU: a full-size ping with DF set and a large transfer cross it.
 * The last case runs examples/shop behind the ingress of manifests/ingress-haproxy.yaml: reached
 * from the lab gateway through the LoadBalancer address, with the tiers' matrix probed with and
 * without its policies.
 * Runs as root; the lab is removed in afterAll even when a case fails.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { electAnnouncer } from "../node-agent/load-balancer/index.js";
import {
  downLab,
  eventually,
  isRoot,
  type LabCluster,
  startLabCluster,
  withLoadBalancerPool,
} from "./support/lab-cluster.js";

const namespaces = ["x", "y", "z"] as const;
const podNames = ["a", "b", "c"] as const;
const ports = [80, 81] as const;
const pods = namespaces.flatMap((ns) => podNames.map((p) => `${ns}/${p}`));

type Allowed = (from: string, to: string, port: number) => boolean;

/**
 * The LoadBalancer pool: one address on node1's and node3's subnet that an election blind to
 * subnets would give node2 (on the other subnet, where no ARP for it is heard), so the case below
 * fails unless the election asks which hosts sit on the address's subnet.
 */
function poolAddress(gateway: string): string {
  const prefix = gateway.split(".").slice(0, 3).join(".");
  for (let i = 200; i < 250; i++) {
    if (electAnnouncer(`${prefix}.${i}`, ["node1", "node2", "node3"]) === "node2") return `${prefix}.${i}`;
  }
  throw new Error(`no address in ${prefix}.200-249 elects node2 among all three nodes`);
}

const nsOf = (pod: string) => pod.split("/")[0]!;

interface PodJson {
  metadata: { name: string; namespace: string; uid: string };
  spec: { nodeName: string };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

describe.skipIf(!isRoot)("NetworkPolicy truth tables over two subnets", { timeout: 600_000 }, () => {
  let lab: LabCluster;
  const ips = new Map<string, string>();
  let serviceIP = "";
  let lbAddress = "";
  let dnsIP = "";

  /** Where each pod's network namespace is held, and which agent's mount namespace holds it. */
  const sandboxes = new Map<string, { agentPid: number; netns: string }>();

  /** Records a running pod's IP and sandbox under `namespace/name`. */
  const track = (p: PodJson) => {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const agent = lab.state.processes.find((c) => c.name === p.spec.nodeName)!;
    ips.set(key, p.status!.podIP!);
    sandboxes.set(key, { agentPid: agent.pid, netns: join(agent.stateDir, "netns", p.metadata.uid) });
  };

  /** Runs `script` in `pod`'s network namespace (from its agent's mount namespace, where the netns file is mounted). */
  const inPod = (pod: string, script: string) => {
    const { agentPid, netns } = sandboxes.get(pod)!;
    return runCommand([
      "nsenter",
      "-t",
      String(agentPid),
      "-m",
      "--",
      "nsenter",
      `--net=${netns}`,
      "--",
      "sh",
      "-c",
      script,
    ]);
  };

  /**
   * One probe round: each pod tries every `targets` entry, all at once; returns `from -> target
   * ok|--` lines. A connection is tried three times before it counts as refused (as upstream's
   * probes retry): on a loaded machine an allowed one can miss a 3 s timeout; a refused one fails
   * at once (the policy rejects with a reset).
   */
  async function probe(
    targets: { label: string; url: string }[],
    from: readonly string[] = pods,
  ): Promise<string[]> {
    const script = `${targets
      .map(
        (t, i) =>
          `(for n in 1 2 3; do timeout 3 busybox wget -q -O /dev/null ${t.url} 2>/dev/null && { echo "${i} ok"; exit; }; done; echo "${i} --") &`,
      )
      .join("\n")}\nwait`;
    const rows = await Promise.all(
      from.map(async (src) => {
        const res = await inPod(src, script);
        const got = new Map(
          res.stdout
            .trim()
            .split("\n")
            .map((l) => l.split(" ") as [string, string]),
        );
        return targets.map(
          (t, i) => `${src} -> ${t.label} ${got.get(String(i)) ?? `?? (${res.stderr.trim()})`}`,
        );
      }),
    );
    return rows.flat();
  }

  const podTargets = () =>
    pods.flatMap((p) =>
      ports.map((port) => ({ label: `${p}:${port}`, url: `http://${ips.get(p)}:${port}/` })),
    );

  const table = (allowed: Allowed) =>
    pods.flatMap((from) =>
      pods.flatMap((to) =>
        ports.map(
          (port) => `${from} -> ${to}:${port} ${from === to || allowed(from, to, port) ? "ok" : "--"}`,
        ),
      ),
    );

  /** Probes until the matrix equals `want` (policies take a moment to reach every host), else fails showing both. */
  async function expectMatrix(want: string[], round = () => probe(podTargets())): Promise<void> {
    let got: string[] = [];
    try {
      await eventually(
        "the truth table",
        async () => {
          got = await round();
          return got.join("\n") === want.join("\n") ? true : undefined;
        },
        30_000,
      );
    } catch {
      const diff = got.filter((line, i) => line !== want[i]);
      expect.fail(
        `truth table mismatch\n--- expected\n${want.join("\n")}\n--- got\n${got.join("\n")}\n--- differing (got)\n${diff.join("\n")}`,
      );
    }
  }

  const apply = async (yaml: string) => {
    const res = await lab.apply(yaml);
    expect(res.code, res.stderr).toBe(0);
  };

  beforeAll(async () => {
    lab = await startLabCluster(
      "np",
      3,
      withLoadBalancerPool(componentsFor("all"), (gateway) => {
        lbAddress = poolAddress(gateway);
        return lbAddress;
      }),
      undefined,
      2,
    );
    const nodes = lab.state.nodes.map((n) => n.name);
    const docs = namespaces.flatMap((ns) => [
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {ns: ${ns}}}`,
      ...podNames.map(
        (p, i) => `apiVersion: v1
kind: Pod
metadata: {name: ${p}, namespace: ${ns}, labels: {pod: ${p}}}
spec:
  nodeName: ${nodes[i % nodes.length]}
  terminationGracePeriodSeconds: 0
  containers:
  - name: serve
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "mkdir -p /www && echo ${ns}-${p} > /www/index.html && httpd -p 80 -h /www && httpd -p 81 -h /www && exec sleep 3600"]
    ports: [{name: serve-80-tcp, containerPort: 80}, {name: serve-81-tcp, containerPort: 81}]`,
      ),
    ]);
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: web, namespace: y}
spec:
  selector: {pod: b}
  ports: [{port: 8000, targetPort: serve-80-tcp}]`);
    await apply(docs.join("\n---\n"));
    await eventually(
      "9 running pods with IPs",
      async () => {
        const res = await lab.kctl("get", "pods", "-A", "-o", "json");
        const items = (JSON.parse(res.stdout) as { items: PodJson[] }).items.filter((p) =>
          namespaces.includes(p.metadata.namespace as (typeof namespaces)[number]),
        );
        const ready = items.filter((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        if (ready.length !== 9) return undefined;
        for (const p of ready) track(p);
        return true;
      },
      120_000,
    );
    const svc = await lab.kctl("get", "service", "web", "-n", "y", "-o", "jsonpath={.spec.clusterIP}");
    serviceIP = svc.stdout.trim();
    const dns = await lab.kctl(
      "get",
      "service",
      "kube-dns",
      "-n",
      "kube-system",
      "-o",
      "jsonpath={.spec.clusterIP}",
    );
    dnsIP = dns.stdout.trim();
  }, 300_000);
  afterAll(downLab(() => lab));
  afterEach(async () => {
    for (const ns of namespaces) await lab.kctl("delete", "networkpolicies", "--all", "-n", ns);
  });

  it("reaches everything without policies", async () => {
    await expectMatrix(table(() => true));
  });

  it("routes node2's pods over the overlay and node1's to node3's directly, and Services cross it from every host", async () => {
    const res = await lab.kctl("get", "nodes", "-o", "json");
    const nodes = (
      JSON.parse(res.stdout) as {
        items: { metadata: { name: string }; spec: { podCIDR: string } }[];
      }
    ).items;
    const cidr = (name: string) => nodes.find((n) => n.metadata.name === name)!.spec.podCIDR;
    const [n1, n2, n3] = lab.state.nodes;
    expect(n1!.address.split(".")[2]).not.toBe(n2!.address.split(".")[2]);
    const routes1 = (await lab.onNode("node1", "ip", "-4", "route", "show", "proto", "199")).stdout;
    const vtep2 = cidr("node2").replace(/\/\d+$/, "");
    expect(routes1).toContain(`${cidr("node2")} via ${vtep2} dev kctl-vxlan onlink`);
    expect(routes1).toContain(`${cidr("node3")} via ${n3!.address} dev eth0`);
    const fdb2 = (await lab.onNode("node2", "bridge", "fdb", "show", "dev", "kctl-vxlan")).stdout;
    expect(fdb2).toContain(`dst ${n1!.address} self permanent`);
    expect(fdb2).toContain(`dst ${n3!.address} self permanent`);
    expect((await lab.onNode("node2", "ip", "link", "show", "kctl-vxlan")).stdout).toContain("mtu 1450");
    // y/b, behind the Service, runs on node2: from node1 and node3 the Service crosses the overlay.
    for (const host of ["node1", "node2", "node3"]) {
      await eventually(
        `${host} reaching the Service`,
        async () =>
          (await lab.httpGet(host, `http://${serviceIP}:8000/`)).stdout.trim() === "y-b" ? true : undefined,
        30_000,
      );
    }
  });

  it("gives pods the overlay's MTU: an 8 MiB TCP transfer and a full-size ping with DF set cross it with no PMTU discovery", async () => {
    // x/a runs on node1 and x/b on node2, on the other subnet: between them is the overlay.
    const [client, server] = ["x/a", "x/b"];
    const [clientIP, serverIP] = [ips.get(client)!, ips.get(server)!];
    const device = (await lab.onNode("node2", "ip", "-o", "link", "show", "kctl-vxlan")).stdout;
    const mtu = Number(/ mtu (\d+) /.exec(device)?.[1]);
    expect(mtu).toBe(1450);
    for (const pod of [client, server])
      expect((await inPod(pod, "ip -o link show eth0")).stdout).toContain(` mtu ${mtu} `);

    // First, before any ping: a path MTU the client learned would shrink the MSS it announces.
    const made = await lab.kctl(
      "exec",
      "-n",
      "x",
      "b",
      "--",
      "sh",
      "-c",
      "head -c 8388608 /dev/urandom > /www/big && md5sum < /www/big",
    );
    expect(made.stdout, made.stderr).toMatch(/^[0-9a-f]{32} /);
    const fetched = await inPod(client, `timeout 60 busybox wget -q -O - http://${serverIP}/big | md5sum`);
    expect(fetched.stdout.split(" ")[0]).toBe(made.stdout.split(" ")[0]);
    // The server's segments fit the overlay from the first: node2 never answered one with
    // "fragmentation needed", which would have left a learned path MTU in the server pod.
    const learned = await inPod(server, `ip -4 route get ${clientIP}`);
    expect(learned.stdout, learned.stderr).toContain(`${clientIP} via `);
    expect(learned.stdout).not.toContain("mtu");

    // The largest packet the overlay carries (28 bytes of IPv4 and ICMP headers), never fragmented.
    const full = await inPod(client, `ping -M do -c 3 -W 5 -s ${mtu - 28} ${serverIP}`);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    // One byte more is refused in the pod, not sent to be dropped on the way.
    const over = await inPod(client, `ping -M do -c 1 -W 5 -s ${mtu - 27} ${serverIP}`);
    expect(over.code).not.toBe(0);
    expect(over.stdout + over.stderr).toContain("message too long");
  });

  it("announces a LoadBalancer address from a host on its subnet, and reaches a pod on the other across the overlay", async () => {
    await apply(`apiVersion: v1
kind: Service
metadata: {name: web-lb, namespace: y}
spec:
  type: LoadBalancer
  selector: {pod: b}
  ports: [{port: 80, targetPort: serve-80-tcp}]`);
    // node1 and node3 share the address's subnet; node2, where y/b runs, is on the other one.
    const holders = await eventually("a host announces the address", async () => {
      const found: string[] = [];
      for (const n of lab.state.nodes) {
        const addrs = (await lab.onNode(n.name, "ip", "-4", "-o", "addr", "show")).stdout;
        if (addrs.includes(` ${lbAddress}/32 `)) found.push(n.name);
      }
      return found.length > 0 ? found : undefined;
    });
    expect(holders.length).toBe(1);
    expect(["node1", "node3"]).toContain(holders[0]);
    const body = await eventually("the gateway reaches web-lb", async () => {
      const res = await runCommand([
        "ip",
        "netns",
        "exec",
        lab.state.labNamespace!,
        "timeout",
        "3",
        "busybox",
        "wget",
        "-q",
        "-O-",
        `http://${lbAddress}/`,
      ]);
      return res.code === 0 ? res.stdout.trim() : undefined;
    });
    expect(body).toBe("y-b");
    expect((await lab.kctl("delete", "service", "web-lb", "-n", "y")).code).toBe(0);
  });

  it("allows x only from its own namespace", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: same-namespace, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]`);
    await expectMatrix(table((from, to) => nsOf(to) !== "x" || nsOf(from) === "x"));
  });

  it("denies all ingress to x", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]`);
    await expectMatrix(table((_from, to) => nsOf(to) !== "x"));
  });

  it("allows x/a only from namespaces labelled ns=y, and x/b from pod c of z", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-z-c, namespace: x}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}, podSelector: {matchLabels: {pod: c}}}]}]`);
    await expectMatrix(
      table((from, to) => (to !== "x/a" || nsOf(from) === "y") && (to !== "x/b" || from === "z/c")),
    );
  });

  it("allows x from an ipBlock except one pod's address", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cidr, namespace: x}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: ["${ips.get("y/a")}/32"]}}]}]`);
    await expectMatrix(table((from, to) => nsOf(to) !== "x" || from !== "y/a"));
  });

  it("lets x send only DNS, and DNS answers", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-only, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}]`);
    await expectMatrix(table((from) => nsOf(from) !== "x"));
    for (const src of ["x/a", "x/b", "x/c"]) {
      const res = await inPod(src, `timeout 5 busybox nslookup web.y.svc.cluster.local ${dnsIP}`);
      expect(res.stdout, `${src}: ${res.stderr}`).toContain(serviceIP);
    }
  });

  it("allows only the port named serve-81-tcp into x", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named-port, namespace: x}
spec:
  podSelector: {}
  ingress: [{ports: [{port: serve-81-tcp}]}]`);
    await expectMatrix(table((_from, to, port) => nsOf(to) !== "x" || port === 81));
  });

  it("applies to traffic through a Service's ClusterIP: y/b (behind web.y) only from x", async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-x, namespace: y}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}], ports: [{port: serve-80-tcp}]}]`);
    // y/b reaching itself through the Service is hairpin traffic; upstream leaves it undefined.
    const sources = pods.filter((p) => p !== "y/b");
    const target = [{ label: "web.y", url: `http://${serviceIP}:8000/` }];
    await expectMatrix(
      sources.map((from) => `${from} -> web.y ${nsOf(from) === "x" ? "ok" : "--"}`),
      () => probe(target, sources),
    );
  });

  it("runs the shop example behind the ingress's LoadBalancer address, each tier reachable only from the one in front", {
    timeout: 420_000,
  }, async () => {
    const example = (...path: string[]) => readFile(join(import.meta.dirname, "..", ...path), "utf8");
    await apply(await example("manifests", "ingress-haproxy.yaml"));
    await apply(await example("examples", "shop", "shop.yaml"));
    try {
      const tiers = await eventually(
        "the shop's five pods ready",
        async () => {
          const res = await lab.kctl("get", "pods", "-n", "shop", "-o", "json");
          const items = (
            JSON.parse(res.stdout) as { items: (PodJson & { metadata: { labels: { tier: string } } })[] }
          ).items;
          const ready = items.filter((p) =>
            p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          );
          if (ready.length !== 5) return undefined;
          for (const p of ready) track(p);
          return ready;
        },
        180_000,
      );
      // The tiers span both subnets (node2 alone on one), so some tier-to-tier traffic crosses the overlay.
      const hosts = new Set(tiers.map((p) => p.spec.nodeName));
      expect(hosts.has("node2") && (hosts.has("node1") || hosts.has("node3")), [...hosts].join(",")).toBe(
        true,
      );

      // From the lab gateway, outside the pod network: the ingress's LoadBalancer address with the
      // shop's host reaches the frontend, which asks the API, which reads the db.
      const ip = await eventually(
        "the shop Ingress shows the ingress's address",
        async () =>
          (
            await lab.kctl(
              "get",
              "ingress",
              "shop",
              "-n",
              "shop",
              "-o",
              "jsonpath={.status.loadBalancer.ingress[0].ip}",
            )
          ).stdout.trim() || undefined,
        120_000,
      );
      expect(ip).toBe(lbAddress);
      const items = await eventually(
        "the gateway reaches the shop through the ingress",
        async () => {
          const res = await runCommand([
            "ip",
            "netns",
            "exec",
            lab.state.labNamespace!,
            "curl",
            "-s",
            "--max-time",
            "5",
            "-H",
            "Host: shop.example",
            `http://${ip}/cgi-bin/items`,
          ]);
          return res.code === 0 && res.stdout.includes("apple") ? res.stdout.trim() : undefined;
        },
        180_000,
      );
      expect(items).toBe("apple 3\npear 5");

      // The matrix: one pod of each tier and x/a (another namespace) try every tier's port.
      const one = (tier: string) => {
        const p = tiers.find((t) => t.metadata.labels.tier === tier)!;
        return `shop/${p.metadata.name}`;
      };
      const [frontend, api, db] = [one("frontend"), one("api"), one("db")];
      const sources = [frontend, api, db, "x/a"];
      const label = (pod: string) => (pod.startsWith("shop/") ? pod.split("-")[0]! : pod);
      const targets = [
        { name: "frontend", check: `busybox wget -q -O /dev/null http://${ips.get(frontend)}:8080/` },
        { name: "api", check: `busybox wget -q -O /dev/null http://${ips.get(api)}:8080/` },
        { name: "db", check: `busybox nc -w 2 ${ips.get(db)} 5432 </dev/null | grep -q apple` },
      ];
      const round = async () =>
        (
          await Promise.all(
            sources.map(async (src) => {
              const script = `${targets
                .map(
                  (t, i) =>
                    `(for n in 1 2 3; do timeout 3 sh -c '${t.check}' && { echo "${i} ok"; exit; }; done; echo "${i} --") &`,
                )
                .join("\n")}\nwait`;
              const got = new Map(
                (await inPod(src, script)).stdout
                  .trim()
                  .split("\n")
                  .map((l) => l.split(" ") as [string, string]),
              );
              return targets.map((t, i) => `${label(src)} -> ${t.name} ${got.get(String(i)) ?? "??"}`);
            }),
          )
        ).flat();
      const allowed: Record<string, string> = { api: "shop/frontend", db: "shop/api" };
      const matrix = (open: boolean) =>
        sources.flatMap((src) =>
          targets.map((t) => {
            const ok = open || `shop/${t.name}` === label(src) || allowed[t.name] === label(src);
            return `${label(src)} -> ${t.name} ${ok ? "ok" : "--"}`;
          }),
        );
      await expectMatrix(matrix(false), round);
      // Without the policies every tier is open to all: the isolation above is theirs.
      expect((await lab.kctl("delete", "networkpolicies", "--all", "-n", "shop")).code).toBe(0);
      await expectMatrix(matrix(true), round);
    } finally {
      await lab.kctl("delete", "namespace", "shop");
      await lab.kctl("delete", "namespace", "ingress-haproxy");
    }
  });
});
