/**
 * Overlay vs host-gw benchmark (a script, not a test; needs root). Everything runs in network
 * namespaces it makes and removes itself.
 *
 * Two pairs of hosts, each host with a pod behind its bridge and running HostRoutes, built alike:
 * one veth between the two hosts of a pair, so both pairs cross the same number of hops. In the
 * host-gw pair the hosts share a /24 (on-link: a direct route). In the overlay pair each host has
 * a /32 with a route to the other's (reachable, but on no shared prefix), so HostRoutes routes
 * through the VXLAN device: the only difference between the pairs is encapsulation.
 *
 * From the client pod to the server pod on the other host, alternating pairs each round, with wrk:
 * - request rate: small responses over keep-alive connections (-c8);
 * - TCP throughput: 1 MiB responses over one connection (wrk's Transfer/sec).
 * Ratio = median overlay / median host-gw, and the median of each round's ratio.
 *
 * Prints and writes .bench/overlay.json.
 *
 *   node dist/e2e/bench/overlay/overlay-bench.js [rounds=5] [seconds=3]
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { Topology } from "../../../node-agent/proxy/testing/topology-linux.js";
import { HostRoutes } from "../../../node-agent/routes/host-routes-linux.js";
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

interface Pair {
  name: "hostGw" | "overlay";
  client: string;
  routes: HostRoutes[];
}

/** Two hosts joined by one veth, a pod on each, the server pod serving `/` and `/big` (1 MiB). */
async function makePair(topo: Topology, name: Pair["name"]): Promise<Pair> {
  const [h1, h2] = [topo.netns(`${name}-h1`), topo.netns(`${name}-h2`)];
  const [ip1, ip2] = name === "hostGw" ? ["192.168.81.1", "192.168.81.2"] : ["192.168.82.1", "192.168.82.2"];
  if (name === "hostGw") {
    topo.link(h1, `${ip1}/24`, h2, `${ip2}/24`);
  } else {
    const [if1, if2] = topo.link(h1, `${ip1}/32`, h2, `${ip2}/32`);
    topo.ip(h1, `route add ${ip2}/32 dev ${if1}`);
    topo.ip(h2, `route add ${ip1}/32 dev ${if2}`);
  }
  topo.bridge(h1, "kctl0", "10.244.1.1/24");
  topo.bridge(h2, "kctl0", "10.244.2.1/24");
  const client = topo.pod(h1, "kctl0", `${name}-client`, "10.244.1.2/24", "10.244.1.1");
  const server = topo.pod(h2, "kctl0", `${name}-server`, `${SERVER_POD}/24`, "10.244.2.1");
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
  if ((name === "overlay") !== via.includes("kctl-vxlan")) throw new Error(`${name} pair routes ${via}`);
  return { name, client, routes };
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

function compare(pairs: readonly Pair[], measure: (client: string) => number) {
  const runs: Record<Pair["name"], number[]> = { hostGw: [], overlay: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so warm-up and drift do not favour one side.
    const order = r % 2 === 0 ? pairs : [...pairs].reverse();
    for (const p of order) runs[p.name].push(measure(p.client));
  }
  const hostGw = quantile(runs.hostGw, 0.5);
  const overlay = quantile(runs.overlay, 0.5);
  return {
    hostGw: runs.hostGw,
    overlay: runs.overlay,
    medianHostGw: hostGw,
    medianOverlay: overlay,
    ratio: round3(overlay / hostGw),
    medianRoundRatio: round3(
      quantile(
        runs.overlay.map((o, i) => o / runs.hostGw[i]!),
        0.5,
      ),
    ),
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the overlay benchmark needs root (network namespaces)");
  const topo = new Topology("kctl-overlay-bench");
  const pairs: Pair[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => void topo.destroy().finally(() => process.exit(130)));
  try {
    pairs.push(await makePair(topo, "hostGw"), await makePair(topo, "overlay"));
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
