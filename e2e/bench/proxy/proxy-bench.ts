/**
 * Service proxy benchmark (a script, not a test; needs root). Everything runs in network
 * namespaces it makes and removes itself.
 *
 * 1. Rule programming: 1000 Services × 10 endpoints in one host namespace. Time of a full sync
 *    (a proxy's start) on a host without the table and over an existing one, and of one endpoint
 *    change in one Service (a partial sync), as medians (and p99) of several runs; the rule count
 *    (rules plus map elements).
 * 2. Throughput: requests per second from a client namespace (another machine on the node's link)
 *    through a ClusterIP vs straight to the same pods, alternating in one run, with wrk; once with
 *    keep-alive connections and once with a new connection per request (every request then pays
 *    for conntrack, DNAT and masquerade). Ratio = median ClusterIP / median direct. Over two pods,
 *    and over one pod alone (a Service with that pod only), which leaves out the cost of spreading.
 *
 * Prints and writes .bench/proxy.json.
 *
 *   node dist/e2e/bench/proxy/proxy-bench.js [services=1000] [endpoints=10] [rounds=5] [seconds=3]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { Registry } from "prom-client";
import type { EndpointsInput, ServiceInput } from "../../../node-agent/proxy/inputs.js";
import { ServiceProxy } from "../../../node-agent/proxy/service-proxy.js";
import { Topology } from "../../../node-agent/proxy/testing/topology-linux.js";

const [services = 1000, perService = 10, rounds = 5, seconds = 3] = process.argv.slice(2).map(Number);
const NODE_IP = "192.168.77.1";
const PODS = ["10.244.1.2", "10.244.1.3"];

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

function svc(i: number): ServiceInput {
  const ip = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  return {
    metadata: { namespace: "bench", name: `svc-${i}` },
    spec: { clusterIP: ip, type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30000 + i }] },
  };
}

function eps(name: string, ips: readonly string[], port = 8080): EndpointsInput {
  return {
    metadata: { namespace: "bench", name },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: "http", port }] }],
  };
}

/** Endpoint addresses of service `i`, version `v` of its first endpoint. */
function epIPs(i: number, v = 0): string[] {
  return Array.from({ length: perService }, (_, k) => {
    const n = i * perService + k + (k === 0 ? v * 1_000_000 : 0);
    return `10.${200 + (Math.floor(n / 65_536) % 50)}.${Math.floor(n / 256) % 256}.${n % 256}`;
  });
}

async function ruleProgramming(topo: Topology) {
  const host = topo.netns("rules-host");
  const feed = (p: ServiceProxy) => {
    for (let i = 0; i < services; i++) {
      p.setService(svc(i));
      p.setEndpoints(eps(`svc-${i}`, epIPs(i)));
    }
  };
  // Fresh: the agent's first start on a host (no table). Resync: a restart or the hourly repair,
  // which deletes the existing table and builds it again in the same transaction.
  const freshMs: number[] = [];
  const resyncMs: number[] = [];
  let fullLines = 0;
  for (let r = 0; r < rounds; r++) {
    for (const times of [freshMs, resyncMs]) {
      const p = new ServiceProxy({ netns: host, clusterCIDR: "10.244.0.0/16", fullResyncIntervalMs: 0 });
      feed(p);
      const t0 = performance.now();
      await p.start();
      times.push(performance.now() - t0);
      fullLines = p.lastSync()!.script.split("\n").length - 1;
      await p.stop();
    }
    await new ServiceProxy({ netns: host }).uninstall();
  }
  const registry = new Registry();
  const proxy = new ServiceProxy({
    netns: host,
    clusterCIDR: "10.244.0.0/16",
    registry,
    fullResyncIntervalMs: 0,
  });
  feed(proxy);
  await proxy.start();
  const changeMs: number[] = [];
  const changes = Math.max(50, rounds * 10);
  for (let c = 1; c <= changes; c++) {
    const i = (c * 7919) % services;
    proxy.setEndpoints(eps(`svc-${i}`, epIPs(i, c)));
    const t0 = performance.now();
    const report = await proxy.syncNow();
    changeMs.push(performance.now() - t0);
    if (report.kind !== "partial" || report.script === "")
      throw new Error("an endpoint change was not a partial sync");
  }
  const rules = Number(
    /kctl_proxy_rules (\d+)/.exec(await registry.getSingleMetricAsString("kctl_proxy_rules"))![1],
  );
  const tableLines = topo.run(host, ["nft", "list", "table", "ip", "kctl"]).split("\n").length;
  await proxy.uninstall();
  return {
    services,
    endpointsPerService: perService,
    fullSyncFreshMs: { median: round3(quantile(freshMs, 0.5)), runs: freshMs.map(round3) },
    fullResyncOverExistingMs: { median: round3(quantile(resyncMs, 0.5)), runs: resyncMs.map(round3) },
    fullSyncScriptLines: fullLines,
    endpointChangeMs: {
      median: round3(quantile(changeMs, 0.5)),
      p99: round3(quantile(changeMs, 0.99)),
      runs: changeMs.length,
    },
    rulesAndElements: rules,
    nftListLines: tableLines,
  };
}

/** Sum of wrk's requests/sec over one wrk per URL, run at the same time. */
function wrkRps(topo: Topology, client: string, urls: readonly string[], close: boolean): number {
  const header = close ? ["-H", "Connection: close"] : [];
  const script = urls
    .map((u) => `wrk -t1 -c8 -d${seconds}s ${header.map((h) => `'${h}'`).join(" ")} ${u} &`)
    .join("\n");
  const out = topo.run(client, ["sh", "-c", `${script}\nwait`]);
  const rates = [...out.matchAll(/Requests\/sec:\s+([\d.]+)/g)].map((m) => Number(m[1]));
  if (rates.length !== urls.length) throw new Error(`wrk output without a rate:\n${out}`);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  return rates.reduce((a, b) => a + b, 0);
}

/**
 * Requests per second straight to `direct` and through `viaService` (same count of wrk processes),
 * alternating, keep-alive and then a new connection per request.
 */
function compare(topo: Topology, client: string, direct: readonly string[], viaService: readonly string[]) {
  const result: Record<string, unknown> = {};
  for (const close of [false, true]) {
    const rps = { direct: [] as number[], clusterIP: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so warm-up and drift do not favour one side.
      const order: ("direct" | "clusterIP")[] =
        r % 2 === 0 ? ["direct", "clusterIP"] : ["clusterIP", "direct"];
      for (const side of order)
        rps[side].push(Math.round(wrkRps(topo, client, side === "direct" ? direct : viaService, close)));
    }
    const medianDirect = quantile(rps.direct, 0.5);
    const medianClusterIP = quantile(rps.clusterIP, 0.5);
    result[close ? "newConnectionPerRequest" : "keepAlive"] = {
      direct: rps.direct,
      clusterIP: rps.clusterIP,
      medianDirect,
      medianClusterIP,
      ratio: round3(medianClusterIP / medianDirect),
      // Each round's two runs share the machine's load at that moment; their ratio is steadier.
      medianRoundRatio: round3(
        quantile(
          rps.clusterIP.map((c, r) => c / rps.direct[r]!),
          0.5,
        ),
      ),
    };
  }
  return result;
}

async function throughput(topo: Topology) {
  const host = topo.netns("tp-host");
  const client = topo.netns("tp-client");
  topo.link(host, `${NODE_IP}/24`, client, "192.168.77.2/24");
  topo.ip(client, `route add default via ${NODE_IP}`);
  topo.bridge(host, "kctl0", "10.244.1.1/24");
  for (const [i, ip] of PODS.entries()) {
    const pod = topo.pod(host, "kctl0", `tp-pod${i}`, `${ip}/24`, "10.244.1.1");
    const server = `require("http").createServer((q, s) => s.end("pod${i}\\n")).listen(8080)`;
    await topo.spawnServer(pod, [process.execPath, "-e", server], 8080);
  }
  const proxy = new ServiceProxy({ netns: host, clusterCIDR: "10.244.0.0/16", fullResyncIntervalMs: 0 });
  const services = {
    web: { ip: "10.96.0.10", pods: PODS },
    "web-one": { ip: "10.96.0.11", pods: PODS.slice(0, 1) },
  };
  for (const [name, { ip, pods }] of Object.entries(services)) {
    proxy.setService({
      metadata: { namespace: "bench", name },
      spec: { clusterIP: ip, ports: [{ name: "http", port: 80 }] },
    });
    proxy.setEndpoints(eps(name, pods));
  }
  await proxy.start();
  // With a new connection per request, tens of thousands of closed connections pile up within a
  // run: the client reuses TIME_WAIT ports, and the host's conntrack forgets closed flows after 1 s
  // instead of 120 s, so neither side measures port or conntrack-table exhaustion.
  topo.run(client, [
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.tcp_tw_reuse=1",
    "net.ipv4.ip_local_port_range=1024 65535",
  ]);
  topo.run(host, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1"]);
  const pod0 = `http://${PODS[0]}:8080/`;
  const result = {
    wrk: `one wrk -t1 -c8 -d${seconds}s per pod, run together`,
    rounds,
    // One wrk per pod, each straight to its pod, against as many through the ClusterIP, whose
    // connections land on both pods: the Service's figure also pays for this machine's two cores
    // passing every client's packets to both servers (see README).
    twoPods: compare(
      topo,
      client,
      PODS.map((ip) => `http://${ip}:8080/`),
      PODS.map(() => "http://10.96.0.10/"),
    ),
    // Two wrk to one pod, straight or through a Service with that pod alone: the proxy's own cost.
    onePod: compare(topo, client, [pod0, pod0], ["http://10.96.0.11/", "http://10.96.0.11/"]),
  };
  await proxy.uninstall();
  return result;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the proxy benchmark needs root (network namespaces, nftables)");
  const topo = new Topology("kctl-proxy-bench");
  // Ctrl-C or a kill still removes the namespaces and stops the pods' servers.
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void topo.destroy().finally(() => process.exit(130)));
  try {
    const rules = await ruleProgramming(topo);
    console.log(JSON.stringify({ rules }, null, 2));
    const rps = await throughput(topo);
    const out = { date: new Date().toISOString(), rules, throughput: rps };
    console.log(JSON.stringify({ throughput: rps }, null, 2));
    await mkdir(".bench", { recursive: true });
    await writeFile(".bench/proxy.json", `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await topo.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
