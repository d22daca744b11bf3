/**
 * Overlay vs host-gw benchmark (a script, not a test; needs root). Everything runs in network
 * namespaces it makes and removes itself.
 *
 * Pairs of hosts, each host with a pod behind its bridge and running HostRoutes, built alike:
 * one veth between the two hosts of a pair, so every pair crosses the same number of hops. In a
 * host-gw pair the hosts share a /24 (on-link: a direct route). In an overlay pair each host has
 * a /32 with a route to the other's (reachable, but on no shared prefix), so HostRoutes routes
 * through the VXLAN device. Pods get the MTU the agent gives them (`podMtu`: the overlay's, 1450
 * here); one more pair of each kind has pods at the underlay's 1500, as before that, so the run
 * also shows what the smaller pod MTU costs host-gw peers and what it changes on the overlay
 * (where 1500-byte pods rely on PMTU discovery).
 *
 * From the client pod to the server pod on the other host, the pairs in a rotating order each
 * round, with wrk:
 * - request rate: small responses over keep-alive connections (-c8);
 * - TCP throughput: 1 MiB responses over one connection (wrk's Transfer/sec).
 * Ratios of medians (and the median of each round's ratio): overlay / host-gw at the agent's pod
 * MTU, host-gw at the agent's pod MTU / host-gw at 1500, overlay at the agent's / overlay at 1500.
 *
 * Prints and writes .bench/overlay.json.
 *
 *   node dist/e2e/bench/overlay/overlay-bench.js [rounds=5] [seconds=3]
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Topology } from "../../../node-agent/proxy/testing/topology-linux.js";
import { HostRoutes } from "../../../node-agent/routes/host-routes-linux.js";
import { podMtu } from "../../../node-agent/routes/pod-mtu-linux.js";
import type { NodeInput } from "../../../node-agent/routes/route-plan.js";

const [rounds = 5, seconds = 3] = process.argv.slice(2).map(Number);
const SERVER_POD = "10.244.2.2";

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

function node(name: string, podCIDR: string, ip: string): NodeInput {
  return {
    metadata: { name },
    spec: { podCIDR },
    status: { addresses: [{ type: "InternalIP", address: ip }] },
  };
}

/** hostGw and overlay: pods at the agent's MTU; the *At1500 pairs: pods at the underlay's. */
const PAIRS = [
  { name: "hostGw", overlay: false, agentMtu: true },
  { name: "overlay", overlay: true, agentMtu: true },
  { name: "hostGwAt1500", overlay: false, agentMtu: false },
  { name: "overlayAt1500", overlay: true, agentMtu: false },
] as const;
type PairName = (typeof PAIRS)[number]["name"];

interface Pair {
  name: PairName;
  client: string;
  podMtu: number;
  routes: HostRoutes[];
}

/** Two hosts joined by one veth, a pod on each, the server pod serving `/` and `/big` (1 MiB). */
async function makePair(topo: Topology, spec: (typeof PAIRS)[number]): Promise<Pair> {
  const { name } = spec;
  const [h1, h2] = [topo.netns(`${name}-h1`), topo.netns(`${name}-h2`)];
  // Each pair has namespaces of its own, so the pairs may share addresses.
  const [ip1, ip2] = spec.overlay ? ["192.168.82.1", "192.168.82.2"] : ["192.168.81.1", "192.168.81.2"];
  if (spec.overlay) {
    const [if1, if2] = topo.link(h1, `${ip1}/32`, h2, `${ip2}/32`);
    topo.ip(h1, `route add ${ip2}/32 dev ${if1}`);
    topo.ip(h2, `route add ${ip1}/32 dev ${if2}`);
  } else {
    topo.link(h1, `${ip1}/24`, h2, `${ip2}/24`);
  }
  const mtu = spec.agentMtu ? await podMtu(ip1, h1) : 1500;
  topo.bridge(h1, "kctl0", "10.244.1.1/24");
  topo.bridge(h2, "kctl0", "10.244.2.1/24");
  const client = topo.pod(h1, "kctl0", `${name}-client`, "10.244.1.2/24", "10.244.1.1", mtu);
  const server = topo.pod(h2, "kctl0", `${name}-server`, `${SERVER_POD}/24`, "10.244.2.1", mtu);
  const code = `const big = Buffer.alloc(1 << 20, 120);
require("http").createServer((q, s) => s.end(q.url === "/big" ? big : "ok\\n")).listen(8080)`;
  await topo.spawnServer(server, [process.execPath, "-e", code], 8080);
  const nodes = [node("n1", "10.244.1.0/24", ip1), node("n2", "10.244.2.0/24", ip2)];
  const routes = [
    new HostRoutes({ nodeName: "n1", netns: h1, resyncIntervalMs: 0 }),
    new HostRoutes({ nodeName: "n2", netns: h2, resyncIntervalMs: 0 }),
  ];
  for (const r of routes) {
    for (const n of nodes) r.setNode(n);
    await r.start();
  }
  const via = topo.run(h1, ["ip", "-4", "route", "show", "10.244.2.0/24"]).trim();
  if (spec.overlay !== via.includes("kctl-vxlan")) throw new Error(`${name} pair routes ${via}`);
  return { name, client, podMtu: mtu, routes };
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Runs wrk in `client` and returns requests/s and bytes/s. */
function wrk(
  topo: Topology,
  client: string,
  connections: number,
  path: string,
): { rps: number; bytesPerSec: number } {
  const out = topo.run(client, [
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    `http://${SERVER_POD}:8080${path}`,
  ]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  if (!rps || !transfer) throw new Error(`wrk output without a rate:\n${out}`);
  return { rps: Number(rps[1]), bytesPerSec: Number(transfer[1]) * UNITS[transfer[2]!]! };
}

const ratioOf = (runs: Record<PairName, number[]>, a: PairName, b: PairName) => ({
  ratio: round3(quantile(runs[a], 0.5) / quantile(runs[b], 0.5)),
  medianRoundRatio: round3(
    quantile(
      runs[a].map((x, i) => x / runs[b][i]!),
      0.5,
    ),
  ),
});

function compare(pairs: readonly Pair[], measure: (client: string) => number) {
  const runs = Object.fromEntries(pairs.map((p) => [p.name, [] as number[]])) as Record<PairName, number[]>;
  for (let r = 0; r < rounds; r++) {
    // A rotating order, so warm-up and drift do not favour one pair.
    const order = pairs.map((_, i) => pairs[(i + r) % pairs.length]!);
    for (const p of order) runs[p.name].push(measure(p.client));
  }
  return {
    runs,
    medians: Object.fromEntries(pairs.map((p) => [p.name, quantile(runs[p.name], 0.5)])),
    overlayVsHostGw: ratioOf(runs, "overlay", "hostGw"),
    hostGwVsAt1500: ratioOf(runs, "hostGw", "hostGwAt1500"),
    overlayVsAt1500: ratioOf(runs, "overlay", "overlayAt1500"),
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the overlay benchmark needs root (network namespaces)");
  const topo = new Topology("kctl-overlay-bench");
  const pairs: Pair[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void topo.destroy().finally(() => process.exit(130)));
  try {
    for (const spec of PAIRS) pairs.push(await makePair(topo, spec));
    const cpu = /model name\s*:\s*(.+)/.exec(await readFile("/proc/cpuinfo", "utf8"))?.[1];
    const loadBefore = (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
    const requestRate = compare(pairs, (c) => Math.round(wrk(topo, c, 8, "/").rps));
    const throughputMiBs = compare(pairs, (c) => round3(wrk(topo, c, 1, "/big").bytesPerSec / 1024 ** 2));
    const out = {
      date: new Date().toISOString(),
      machine: `${cpu ?? "unknown cpu"}, ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores`,
      loadAverage: {
        before: loadBefore,
        after: (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" "),
      },
      rounds,
      podMtu: Object.fromEntries(pairs.map((p) => [p.name, p.podMtu])),
      wrk: `-t1 -d${seconds}s; request rate -c8 on a 3-byte body, throughput -c1 on 1 MiB bodies`,
      requestRate,
      throughputMiBs,
    };
    console.log(JSON.stringify(out, null, 2));
    await mkdir(".bench", { recursive: true });
    await writeFile(".bench/overlay.json", `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const p of pairs) for (const r of p.routes) await r.stop();
    await topo.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
