/**
 * Dashboard benchmark (a script, not a test): a real control plane in this process, 100 hollow
 * nodes (they report bound pods Running and Ready, as agents do), 5000 pods in two Deployments
 * (4000 that stay, 1000 that roll), then Debian's chromium through playwright-core on the built
 * dashboard. It measures:
 *  - the cluster map, from switching to it until every pod is drawn, against the peer `GET
 *    /api/v1/pods` of the same 5000 pods from Node in the same run (what the page must at least
 *    wait for);
 *  - the frames while the 1000-pod Deployment restarts with the map open: the gaps between
 *    animation frames and the browser's long-animation-frame entries (frames over 50 ms).
 * Writes .bench/dashboard.json (with the machine and its load) and prints the figures.
 *
 *   npm run bench:dashboard -- [--nodes 100] [--pods 5000] [--rolling 1000] [--runs 3] [--profile DIR]
 *
 * `--profile DIR` writes the page's V8 CPU profiles of the first map draw and of the rollout
 * (`map.cpuprofile`, `rollout.cpuprofile`), for e2e/bench/scheduler/profile-summary.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { type CDPSession, chromium, type Page } from "playwright-core";
import { startControlPlane } from "../../../controlplane/control-plane.js";
import { startHollowFleet } from "../../../controlplane/testing/hollow-node-fleet.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ApiClient } from "../../../kctl/client.js";
import { positiveInt } from "../support/bench-args.js";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "100" },
    pods: { type: "string", default: "5000" },
    rolling: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    out: { type: "string", default: ".bench/dashboard.json" },
    profile: { type: "string" },
  },
});

const nodeCount = positiveInt("nodes", args.nodes!);
const podCount = positiveInt("pods", args.pods!);
const rolling = positiveInt("rolling", args.rolling!);
const runs = positiveInt("runs", args.runs!);
if (rolling >= podCount) throw new Error(`--rolling (${rolling}) must be less than --pods (${podCount})`);
const namespace = "bench";
const deployments = resourceForKind("apps/v1", "Deployment")!;
const namespaces = resourceForKind("v1", "Namespace")!;

interface DeploymentStatus {
  metadata: { generation?: number };
  status?: {
    observedGeneration?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    replicas?: number;
  };
}

function deployment(name: string, replicas: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: "c", image: "pause:1", resources: { requests: { cpu: "10m", memory: "16Mi" } } },
          ],
        },
      },
    },
  };
}

async function untilRolledOut(api: ApiClient, name: string, replicas: number): Promise<void> {
  const deadline = Date.now() + 1_200_000;
  for (;;) {
    const d = (await api.get(deployments, namespace, name)) as unknown as DeploymentStatus;
    const s = d.status ?? {};
    if (
      (d.metadata.generation ?? 0) <= (s.observedGeneration ?? 0) &&
      s.updatedReplicas === replicas &&
      s.availableReplicas === replicas &&
      s.replicas === replicas
    )
      return;
    if (Date.now() > deadline)
      throw new Error(`${name} not rolled out after 20 minutes: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

// What runs in the page is given as source text: this file is compiled for Node, without the DOM's types.

/** Milliseconds from leaving for the map until `count` pods are drawn (checked every frame). */
async function timeMapDrawn(page: Page, count: number): Promise<number> {
  await page.evaluate(`location.hash = "#/apply"`);
  await page.getByRole("heading", { name: "Apply" }).waitFor();
  const started = (await page.evaluate(
    `(() => { const t = performance.now(); location.hash = "#/map"; return t; })()`,
  )) as number;
  // A function, not source text: waitForFunction evaluates text with eval, which the page's CSP refuses.
  await page.waitForFunction(
    (n) =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll("[data-host] a.pod").length >= n,
    count,
    { polling: "raf", timeout: 300_000 },
  );
  return ((await page.evaluate("performance.now()")) as number) - started;
}

/** Profiles the page while `work` runs, into DIR/NAME.cpuprofile when --profile DIR is given. */
async function profiled<T>(cdp: CDPSession, name: string, work: () => Promise<T>): Promise<T> {
  if (!args.profile) return work();
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.start");
  const result = await work();
  const { profile } = await cdp.send("Profiler.stop");
  await mkdir(args.profile, { recursive: true });
  await writeFile(join(args.profile, `${name}.cpuprofile`), JSON.stringify(profile));
  return result;
}

/** Records every gap between animation frames, and the browser's frames over 50 ms. */
const recordFrames = `(() => {
  window.gaps = []; window.loaf = []; window.stopFrames = false;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.loaf.push(e.duration); })
    .observe({ type: "long-animation-frame" });
  let last = performance.now();
  const frame = (t) => { window.gaps.push(t - last); last = t; if (!window.stopFrames) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})()`;

const stateDir = await mkdtemp(join(tmpdir(), "kctl-dashboard-bench-"));
const plane = await startControlPlane({
  stateDir,
  port: 0,
  listenHost: "127.0.0.1",
  clusterCidr: "10.0.0.0/8",
});
const api = new ApiClient({
  server: plane.apiUrl,
  caPem: plane.caPem,
  token: plane.adminToken,
  insecureSkipTlsVerify: false,
  namespace,
  path: "(benchmark)",
});
const fleet = await startHollowFleet({
  stateDir,
  nodeServiceAddress: plane.nodeServiceAddress,
  nodes: nodeCount,
  prefix: "hollow",
  wave: 8,
});
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  process.stdout.write(`${nodeCount} hollow nodes registered; creating ${podCount} pods\n`);
  await api.create(namespaces, undefined, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace },
  });
  await api.create(deployments, namespace, deployment("fill", podCount - rolling));
  await api.create(deployments, namespace, deployment("roll", rolling));
  await untilRolledOut(api, "fill", podCount - rolling);
  await untilRolledOut(api, "roll", rolling);
  process.stdout.write(`${podCount} pods ready\n`);

  const page = await (
    await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } })
  ).newPage();
  await page.goto(`${plane.apiUrl}/ui/#/apply`);
  await page.getByLabel("Bearer token").fill(plane.adminToken);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Apply" }).waitFor();

  const cdp = await page.context().newCDPSession(page);
  const mapMs: number[] = [];
  const listMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await api.request("GET", "/api/v1/pods");
    listMs.push(performance.now() - t0);
    mapMs.push(
      r === 0
        ? await profiled(cdp, "map", () => timeMapDrawn(page, podCount))
        : await timeMapDrawn(page, podCount),
    );
    process.stdout.write(
      `  run ${r + 1}: map drawn ${mapMs[r]!.toFixed(0)} ms, list ${listMs[r]!.toFixed(0)} ms\n`,
    );
  }

  // Frames while the rolling Deployment restarts, with the map of every pod on screen.
  await page.evaluate(recordFrames);
  const rolloutStart = performance.now();
  await profiled(cdp, "rollout", async () => {
    await api.request("PATCH", `/apis/apps/v1/namespaces/${namespace}/deployments/roll`, {
      body: {
        spec: {
          template: {
            metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } },
          },
        },
      },
      contentType: "application/merge-patch+json",
    });
    await untilRolledOut(api, "roll", rolling);
  });
  const rolloutSeconds = (performance.now() - rolloutStart) / 1000;
  const { gaps, loaf } = (await page.evaluate(
    `(() => { window.stopFrames = true; return { gaps: window.gaps, loaf: window.loaf }; })()`,
  )) as { gaps: number[]; loaf: number[] };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryBytes: totalmem(), loadavg: loadavg() },
    nodes: nodeCount,
    pods: podCount,
    mapDrawnMs: { runs: mapMs, median: median(mapMs) },
    listPodsMs: { runs: listMs, median: median(listMs) },
    mapToListRatio: median(mapMs) / median(listMs),
    rollout: {
      pods: rolling,
      seconds: rolloutSeconds,
      frames: gaps.length,
      frameGapMs: { p50: percentile(gaps, 50), p99: percentile(gaps, 99), max: Math.max(0, ...gaps) },
      framesOver50ms: gaps.filter((g) => g > 50).length,
      longAnimationFrames: { count: loaf.length, maxMs: Math.max(0, ...loaf) },
    },
  };
  await mkdir(dirname(args.out!), { recursive: true });
  await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${args.out}\n`);
} finally {
  await browser.close();
  fleet.stop();
  api.close();
  await plane.stop();
  await rm(stateDir, { recursive: true, force: true });
}
