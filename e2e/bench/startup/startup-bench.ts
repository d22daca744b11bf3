/**
 * `npm run bench:startup`: how long a kctl process takes from spawn to exit, RUNS times each, the
 * commands alternating with the order reversed every other run: `node -e 0` (the floor: Node's own
 * start), `kctl --help`, `kctl version --client`, `kctl get pods` against a real control plane
 * (etcd and the apiserver, started here) and `kctl up --help`, which loads the control plane, the
 * node agent and the rest of what `up` runs, as every command did when the command table imported
 * them all. Given the dist/ folder of another build, it also times that build's `version --client`
 * and `get pods` in the same runs (before/after). Writes `.bench/startup.json`.
 *
 *   node dist/e2e/bench/startup/startup-bench.js [runs=15] [out=.bench/startup.json] [baseline-dist]
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startTestCluster } from "../../../kctl/testing/test-cluster.js";

const run = promisify(execFile);
const DIST = fileURLToPath(new URL("../../../", import.meta.url));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) * 10) / 10;
};

async function timed(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await run(process.execPath, argv, { env: { ...process.env, ...env } });
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 15);
  const out = process.argv[3] ?? ".bench/startup.json";
  const baseline = process.argv[4];
  const cluster = await startTestCluster();
  try {
    const env = { KCTL_CONFIG: cluster.configPath };
    const kctl =
      (dist: string, ...args: string[]) =>
      () =>
        timed([join(dist, "kctl/main.js"), ...args], env);
    const commands: Record<string, () => Promise<number>> = {
      nodeFloor: () => timed(["-e", "0"], env),
      help: kctl(DIST, "--help"),
      versionClient: kctl(DIST, "version", "--client"),
      getPods: kctl(DIST, "get", "pods"),
      upHelp: kctl(DIST, "up", "--help"),
      ...(baseline
        ? {
            baselineVersionClient: kctl(baseline, "version", "--client"),
            baselineGetPods: kctl(baseline, "get", "pods"),
          }
        : {}),
    };
    // Warm-up, not timed: the file cache holds every module afterwards.
    for (const command of Object.values(commands)) await command();

    const rows: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      const order = Object.keys(commands);
      if (i % 2 === 1) order.reverse();
      for (const name of order) rows[name]!.push(await commands[name]!());
      console.log(
        `run ${i + 1}/${runs}: ${Object.entries(rows)
          .map(([k, v]) => `${k} ${v[i]!.toFixed(0)} ms`)
          .join(", ")} (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
    const medians = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
    const ratio = (a: string, b: string) =>
      medians[a] !== undefined && medians[b] !== undefined
        ? Math.round((medians[a]! / medians[b]!) * 100) / 100
        : undefined;
    const result = {
      runs,
      baseline: baseline ?? null,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", loadAverage: loadavg() },
      medianMs: medians,
      allMs: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.map(Math.round)])),
      ratios: {
        versionVsUpHelp: ratio("versionClient", "upHelp"),
        versionVsNodeFloor: ratio("versionClient", "nodeFloor"),
        versionVsBaseline: ratio("versionClient", "baselineVersionClient"),
        getPodsVsBaseline: ratio("getPods", "baselineGetPods"),
      },
    };
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await cluster.stop();
  }
}

await main();
