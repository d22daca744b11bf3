/**
 * NetworkPolicy cost benchmark (a script, not a test; needs root). Everything runs in network
 * namespaces it makes and removes itself.
 *
 * A host namespace with two pods (Node.js HTTP servers on the pod bridge) and a client namespace on
 * the host's link (another machine). Requests per second from the client to the pods (wrk, one
 * per pod) with no policy, against the same with 100 NetworkPolicies selecting both pods whose peers
 * select 1000 pods of other hosts (hollow: only their IPs, in the policies' sets) and, in the last
 * policy, the client's subnet as an ipBlock, so every new connection walks every rule before it is
 * admitted. Alternating rounds in one run, keep-alive and a new connection per request; ratio =
 * median with policies / median without. Also the time of one partial sync when one hollow pod's
 * IP changes (set elements only) and when one policy's peers change (the selected pods' chains),
 * median and p99: the host's share of a policy's propagation.
 *
 * Prints and writes .bench/netpol.json.
 *
 *   node dist/e2e/bench/netpol/netpol-bench.js [rounds=5] [seconds=3]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { NetworkPolicyEnforcer } from "../../../node-agent/network-policy/enforcer.js";
import { Topology } from "../../../node-agent/proxy/testing/topology-linux.js";
import type { Namespace, NetworkPolicy, Pod } from "../../../proto/gen/api.js";

const [rounds = 5, seconds = 3] = process.argv.slice(2).map(Number);
const NODE_IP = "192.168.77.1";
const CLIENT = "192.168.77.2";
const PODS = ["10.244.1.2", "10.244.1.3"];
const POLICIES = 100;
const HOLLOW = 1000;

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

const hollowIp = (i: number, v = 0) =>
  `10.244.${2 + Math.floor((i + v * HOLLOW) / 250)}.${((i + v * HOLLOW) % 250) + 2}`;

function pod(name: string, ip: string, node: string, labels: Record<string, string>): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench", labels },
    spec: {
      nodeName: node,
      containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] }],
    },
    status: { phase: "Running", podIP: ip },
  };
}

function policy(i: number): NetworkPolicy {
  const from: NonNullable<NonNullable<NetworkPolicy["spec"]>["ingress"]>[number]["from"] = [
    { podSelector: { matchLabels: { group: `g${i}` } } },
  ];
  if (i === POLICIES - 1) from.push({ ipBlock: { cidr: `${CLIENT.replace(/\.\d+$/, ".0")}/24` } });
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `p${i}`, namespace: "bench" },
    spec: {
      podSelector: { matchLabels: { app: "web" } },
      policyTypes: ["Ingress"],
      ingress: [{ from, ports: [{ port: "http" }] }],
    },
  };
}

function wrkRps(topo: Topology, client: string, urls: readonly string[], close: boolean): number {
  const header = close ? "-H 'Connection: close'" : "";
  const script = urls.map((u) => `wrk -t1 -c8 -d${seconds}s ${header} ${u} &`).join("\n");
  const out = topo.run(client, ["sh", "-c", `${script}\nwait`]);
  const rates = [...out.matchAll(/Requests\/sec:\s+([\d.]+)/g)].map((m) => Number(m[1]));
  if (rates.length !== urls.length) throw new Error(`wrk output without a rate:\n${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  return rates.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the NetworkPolicy benchmark needs root (network namespaces, nftables)");
  const topo = new Topology("kctl-netpol-bench");
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void topo.destroy().finally(() => process.exit(130)));
  try {
    const host = topo.netns("np-host");
    const client = topo.netns("np-client");
    topo.link(host, `${NODE_IP}/24`, client, `${CLIENT}/24`);
    topo.ip(client, `route add default via ${NODE_IP}`);
    topo.bridge(host, "kctl0", "10.244.1.1/24");
    for (const [i, ip] of PODS.entries()) {
      const netns = topo.pod(host, "kctl0", `np-pod${i}`, `${ip}/24`, "10.244.1.1");
      const server = `require("http").createServer((q, s) => s.end("pod${i}\\n")).listen(8080)`;
      await topo.spawnServer(netns, [process.execPath, "-e", server], 8080);
    }
    topo.run(client, [
      "sysctl",
      "-q",
      "-w",
      "net.ipv4.tcp_tw_reuse=1",
      "net.ipv4.ip_local_port_range=1024 65535",
    ]);
    topo.run(host, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1"]);

    const enforcer = new NetworkPolicyEnforcer({ nodeName: "bench-node", netns: host });
    const ns: Namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench", labels: {} } };
    enforcer.set("Namespace", ns);
    for (const [i, ip] of PODS.entries())
      enforcer.set("Pod", pod(`web-${i}`, ip, "bench-node", { app: "web" }));
    for (let i = 0; i < HOLLOW; i++) {
      enforcer.set("Pod", pod(`hollow-${i}`, hollowIp(i), `other-${i % 4}`, { group: `g${i % POLICIES}` }));
    }
    await enforcer.start();

    const urls = PODS.map((ip) => `http://${ip}:8080/`);
    const result: Record<string, unknown> = {};
    const policiesOn = async (on: boolean) => {
      for (let i = 0; i < POLICIES; i++) {
        if (on) enforcer.set("NetworkPolicy", policy(i));
        else enforcer.delete("NetworkPolicy", policy(i));
      }
      await enforcer.syncNow();
    };
    for (const close of [false, true]) {
      const rps = { none: [] as number[], policies: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        const order: ("none" | "policies")[] = r % 2 === 0 ? ["none", "policies"] : ["policies", "none"];
        for (const side of order) {
          await policiesOn(side === "policies");
          rps[side].push(Math.round(wrkRps(topo, client, urls, close)));
        }
      }
      const none = quantile(rps.none, 0.5);
      const withPolicies = quantile(rps.policies, 0.5);
      result[close ? "newConnectionPerRequest" : "keepAlive"] = {
        ...rps,
        medianNone: none,
        medianPolicies: withPolicies,
        ratio: round3(withPolicies / none),
        medianRoundRatio: round3(
          quantile(
            rps.policies.map((p, r) => p / rps.none[r]!),
            0.5,
          ),
        ),
      };
    }

    // With policies on: one hollow pod's IP changes, a partial sync of set elements.
    await policiesOn(true);
    const table = topo.run(host, ["nft", "list", "table", "inet", "kctl-netpol"]);
    const changeMs: number[] = [];
    for (let c = 1; c <= 50; c++) {
      const i = (c * 37) % HOLLOW;
      enforcer.set(
        "Pod",
        pod(`hollow-${i}`, hollowIp(i, c % 2), `other-${i % 4}`, { group: `g${i % POLICIES}` }),
      );
      const t0 = performance.now();
      const s = await enforcer.syncNow();
      changeMs.push(performance.now() - t0);
      if (s.kind !== "partial" || /chain/.test(s.script))
        throw new Error(`a pod IP change rewrote chains:\n${s.script}`);
    }
    // One policy's peer selector changes: the chains of the pods it selects are rewritten.
    const policyMs: number[] = [];
    for (let c = 1; c <= 20; c++) {
      const p = policy(c % (POLICIES - 1));
      p.spec!.ingress![0]!.from = [{ podSelector: { matchLabels: { group: `g${(c * 7) % POLICIES}` } } }];
      enforcer.set("NetworkPolicy", p);
      const t0 = performance.now();
      await enforcer.syncNow();
      policyMs.push(performance.now() - t0);
    }
    await enforcer.uninstall();
    const out = {
      date: new Date().toISOString(),
      machine: hostname(),
      setup: `${POLICIES} policies selecting 2 local pods, ${HOLLOW} hollow peer pods in their sets, the admitting ipBlock in the last policy; one wrk -t1 -c8 -d${seconds}s per pod, ${rounds} alternating rounds`,
      tableListLines: table.split("\n").length,
      throughput: result,
      podIpChangeSyncMs: {
        median: round3(quantile(changeMs, 0.5)),
        p99: round3(quantile(changeMs, 0.99)),
        runs: changeMs.length,
      },
      policyChangeSyncMs: {
        median: round3(quantile(policyMs, 0.5)),
        p99: round3(quantile(policyMs, 0.99)),
        runs: policyMs.length,
      },
    };
    console.log(JSON.stringify(out, null, 2));
    await mkdir(".bench", { recursive: true });
    await writeFile(".bench/netpol.json", `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await topo.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
