/**
 * Ingress benchmark (a script, not a test; needs root): requests through the ingress against
 * straight to the Service behind it, from the same client host, in one run.
 *
 * A fresh three-host lab with a LoadBalancer pool on the hosts' subnet; node1 is cordoned before
 * anything is applied, so it holds no pod and is the client: every request leaves it for a pod on
 * node2 or node3. The ingress is manifests/ingress-haproxy.yaml as shipped (two HAProxy pods behind
 * its LoadBalancer Service), with one Ingress routing Host `bench.example` to Service `web` (port
 * 80), a Deployment of two pods. Those pods answer every request with a 2-byte body from HAProxy's
 * own `http-request return` (the HAProxy image with a config of its own), so the backend costs
 * little next to the hop being measured.
 *
 * wrk -t1 -c8 --latency from node1, sides alternating each round:
 * - ingress: `http://<LoadBalancer address>/` with `Host: bench.example` (node1's proxy sends the
 *   address to an ingress pod, which proxies to the Service's ClusterIP, which the proxy on its host
 *   sends to a web pod);
 * - service: `http://<ClusterIP>/` (node1's proxy sends it to a web pod).
 * Once over keep-alive connections and once with a new connection per request. Requests/s and
 * latency p50/p99 per run; ratio = median ingress / median service (and the median of each round's
 * ratio); the 1-minute load average at every run.
 *
 * Prints and writes .bench/ingress.json.
 *
 *   node dist/e2e/bench/ingress/ingress-bench.js [rounds=5] [seconds=3]
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "../../../kctl/lab/run-command.js";
import { eventually } from "../../support/eventually.js";
import { kctl } from "../../support/kctl-process.js";
import { type BenchLab, withBenchLab } from "../support/bench-lab.js";

const [rounds = 5, seconds = 3] = process.argv.slice(2).map(Number);
const HOST = "bench.example";
const CLIENT = "node1";
const SIDES = ["ingress", "service"] as const;
type Side = (typeof SIDES)[number];

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const load1 = async () => Number((await readFile("/proc/loadavg", "utf8")).split(" ")[0]);
const loadAverage = async () => (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");

const BACKEND_CONFIG = `global
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s

frontend web
  bind :8080
  http-request return status 200 content-type text/plain string ok
`;

function workload(): object[] {
  const labels = { app: "web" };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "web-config", namespace: "bench" },
      data: { "haproxy.cfg": BACKEND_CONFIG },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "bench" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: "haproxy",
                image: "kctl.local/haproxy:debian",
                imagePullPolicy: "IfNotPresent",
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: "http" }, periodSeconds: 1 },
                volumeMounts: [{ name: "config", mountPath: "/etc/haproxy/config", readOnly: true }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "web-config" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "bench" },
      spec: { selector: labels, ports: [{ port: 80, targetPort: "http" }] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web", namespace: "bench" },
      spec: {
        rules: [
          {
            host: HOST,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "web", port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
  ];
}

interface Run {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** wrk's connect, read, write and timeout errors, summed. */
  socketErrors: number;
  load1: number;
}

const LATENCY_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** wrk's `--latency` percentile in ms. */
function percentile(out: string, p: string): number {
  const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
  if (!m) throw new Error(`wrk output without a ${p}% latency:\n${out}`);
  return round3(Number(m[1]) * LATENCY_UNITS[m[2]!]!);
}

async function run(lab: BenchLab) {
  const config = lab.clientConfig;
  const k = async (...args: string[]) => {
    const res = await kctl(args, { config, timeoutMs: 60_000 });
    if (res.code !== 0) throw new Error(`kctl ${args.join(" ")}: ${res.stderr.trim()}`);
    return res.stdout;
  };
  const apply = async (yaml: string) => {
    const res = await kctl(["apply", "-f", "-"], { config, input: yaml, timeoutMs: 60_000 });
    if (res.code !== 0) throw new Error(`kctl apply: ${res.stderr.trim()}`);
  };
  const clientNs = lab.state.nodes.find((n) => n.name === CLIENT)!.namespace;
  const onClient = (...argv: string[]) => runCommand(["ip", "netns", "exec", clientNs, ...argv]);
  // A new connection per request leaves thousands in TIME_WAIT on the client: reuse their ports.
  const tuned = await onClient(
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.tcp_tw_reuse=1",
    "net.ipv4.ip_local_port_range=1024 65535",
  );
  if (tuned.code !== 0) throw new Error(`sysctl on ${CLIENT}: ${tuned.stderr.trim()}`);

  const prefix = lab.state.addresses!.gateway.split(".").slice(0, 3).join(".");
  await apply(
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "load-balancer-pool", namespace: "kube-system" },
      data: { addresses: `${prefix}.200-${prefix}.201` },
    }),
  );
  await k("cordon", CLIENT);
  await apply(await readFile(join("manifests", "ingress-haproxy.yaml"), "utf8"));
  await apply(
    workload()
      .map((m) => JSON.stringify(m))
      .join("\n---\n"),
  );

  const readyPods = async (ns: string, want: number) => {
    const pods = JSON.parse(await k("get", "pods", "-n", ns, "-o", "json")) as {
      items: { spec: { nodeName?: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = pods.items.filter((p) =>
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    return ready.length === want ? ready.map((p) => p.spec.nodeName ?? "") : undefined;
  };
  const placement = {
    web: await eventually("2 ready web pods", () => readyPods("bench", 2), 180_000),
    ingress: await eventually("2 ready ingress pods", () => readyPods("ingress-haproxy", 2), 180_000),
  };
  const address = await eventually(
    "the Ingress's LoadBalancer address",
    async () =>
      (
        await k("get", "ingress", "web", "-n", "bench", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
      ).trim() || undefined,
    120_000,
  );
  const clusterIP = (
    await k("get", "service", "web", "-n", "bench", "-o", "jsonpath={.spec.clusterIP}")
  ).trim();
  const urls: Record<Side, { url: string; headers: string[] }> = {
    ingress: { url: `http://${address}/`, headers: ["-H", `Host: ${HOST}`] },
    service: { url: `http://${clusterIP}/`, headers: [] },
  };
  // Each ingress pod loads the rendered config on its own (a ConfigMap volume refreshes on its own
  // period): wait until 20 requests in a row through the ingress are answered by the backend.
  await eventually(
    "the ingress answering for the web pods",
    async () => {
      const res = await onClient(
        "sh",
        "-c",
        `for i in $(seq 20); do curl -s --max-time 3 -H 'Host: ${HOST}' ${urls.ingress.url} || exit 1; echo; done`,
      );
      return res.code === 0 && res.stdout.split("\n").filter((l) => l === "ok").length === 20
        ? true
        : undefined;
    },
    180_000,
  );

  const wrk = async (side: Side, close: boolean, duration = seconds): Promise<Run> => {
    const { url, headers } = urls[side];
    const res = await onClient(
      "wrk",
      "-t1",
      "-c8",
      `-d${duration}s`,
      "--latency",
      ...headers,
      ...(close ? ["-H", "Connection: close"] : []),
      url,
    );
    const out = res.stdout;
    // A wrong answer (a 404 from an unrouted host, a 503) is a broken setup, not a figure.
    if (res.code !== 0 || /Non-2xx/.test(out)) throw new Error(`wrk ${side} failed:\n${out}${res.stderr}`);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!rps) throw new Error(`wrk output without a rate:\n${out}`);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      rps: Math.round(Number(rps[1])),
      p50Ms: percentile(out, "50"),
      p99Ms: percentile(out, "99"),
      socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
      load1: await load1(),
    };
  };

  // One short run of each first, so no side pays for first connections and cold caches.
  for (const side of SIDES) await wrk(side, false, 1);
  const result: Record<string, unknown> = {};
  for (const close of [false, true]) {
    const runs: Record<Side, Run[]> = { ingress: [], service: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? SIDES : ([...SIDES].reverse() as Side[]);
      for (const side of order) runs[side].push(await wrk(side, close));
    }
    const median = (side: Side, key: keyof Run) =>
      quantile(
        runs[side].map((x) => x[key]),
        0.5,
      );
    result[close ? "newConnectionPerRequest" : "keepAlive"] = {
      runs,
      medians: Object.fromEntries(
        SIDES.map((s) => [
          s,
          { rps: median(s, "rps"), p50Ms: median(s, "p50Ms"), p99Ms: median(s, "p99Ms") },
        ]),
      ),
      ratio: round3(median("ingress", "rps") / median("service", "rps")),
      medianRoundRatio: round3(
        quantile(
          runs.ingress.map((x, i) => x.rps / runs.service[i]!.rps),
          0.5,
        ),
      ),
    };
  }
  return { placement, address, clusterIP, ...result };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the ingress benchmark needs root (a lab of network namespaces)");
  const cpu = /model name\s*:\s*(.+)/.exec(await readFile("/proc/cpuinfo", "utf8"))?.[1];
  const out = await withBenchLab({ name: "ingress", hosts: 3 }, async (lab) => {
    const before = await loadAverage();
    const result = await run(lab);
    return {
      date: new Date().toISOString(),
      machine: `${cpu ?? "unknown cpu"}, ${execFileSync("nproc", { encoding: "utf8" }).trim()} cores`,
      loadAverage: { before, after: await loadAverage() },
      rounds,
      wrk: `-t1 -c8 -d${seconds}s --latency from ${CLIENT} (cordoned, no pods); keep-alive, then Connection: close`,
      ...result,
    };
  });
  console.log(JSON.stringify(out, null, 2));
  await mkdir(".bench", { recursive: true });
  await writeFile(".bench/ingress.json", `${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
